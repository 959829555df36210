"""An offline W&B run read back from its ``run-<id>.wandb`` file (the records wandb would upload): a LevelDB-style
log of 32 KiB blocks after a 7-byte header, each record a protobuf ``Record``."""
import json
import struct
from pathlib import Path

HEADER, BLOCK = 7, 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _payloads(data: bytes):
    position, pending = HEADER, b""
    while position + 7 <= len(data):
        if BLOCK - position % BLOCK < 7:  # a block's tail too short for a record header is padding
            position += BLOCK - position % BLOCK
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + 7])
        chunk, position = data[position + 7:position + 7 + length], position + 7 + length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk


def read_run(run_dir: Path) -> dict:
    """name, tags, group, job type, config (JSON values), history rows, artifacts used and logged (by type)."""
    from wandb.proto import wandb_internal_pb2 as pb

    run = {"config": {}, "history": [], "used": [], "logged": []}
    for payload in _payloads(next(run_dir.glob("run-*.wandb")).read_bytes()):
        record = pb.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.update(name=record.run.display_name, tags=list(record.run.tags), group=record.run.run_group,
                       job_type=record.run.job_type)
            run["config"].update({i.key: json.loads(i.value_json) for i in record.run.config.update})
        elif kind == "config":
            run["config"].update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            run["history"].append({i.key or "/".join(i.nested_key): json.loads(i.value_json)
                                   for i in record.history.item})
        elif kind == "use_artifact":
            run["used"].append(record.use_artifact.type)
        elif kind == "artifact":
            run["logged"].append(record.artifact.type)
    return run
