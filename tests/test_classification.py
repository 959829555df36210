import numpy as np
import pytest
from conftest import before_and_after_training, synthetic_images

from storagebench.errors import StorageBenchError
from storagebench.tasks import TASKS


def test_training_beats_the_untrained_model_and_is_deterministic():
    task = TASKS.create("classification", {"width": 8, "epochs": 3, "min_steps": 40, "batch_size": 32}, "[task]")
    train_x, train_y = synthetic_images(300, seed=1)
    test_x, test_y = synthetic_images(200, seed=2)
    before, after = before_and_after_training(task, (train_x, train_y), (test_x, test_y.astype(np.int64)), 10)
    assert after["error"] < before["error"] - 0.3 and 0 <= after["error"] <= 1
    again = task.evaluate(task.train(train_x, train_y, 10, seed=0), test_x, test_y.astype(np.int64))
    assert again == after


def test_rgb_and_odd_sizes_build():
    task = TASKS.create("classification", {"width": 4, "epochs": 1}, "[task]")
    images = np.random.default_rng(0).integers(0, 255, (12, 10, 13, 3), dtype=np.uint8)
    model = task.train(images, np.arange(12) % 3, 3, seed=0)
    assert 0 <= task.evaluate(model, images, np.arange(12) % 3)["error"] <= 1


def test_steps_follow_the_declared_recipe():
    task = TASKS.create("classification", {"epochs": 10, "min_steps": 150, "batch_size": 64}, "[task]")
    assert task.steps_for(250) == 150 and task.steps_for(2000) == 313
    fixed = TASKS.create("classification", {"steps": 400, "epochs": 10, "batch_size": 64}, "[task]")
    assert [fixed.steps_for(n) for n in (250, 2000, 8000)] == [400, 400, 400]  # equal compute in every cell
    with pytest.raises(StorageBenchError, match="steps must be ≥ 0"):
        TASKS.create("classification", {"steps": -1}, "[task]")
    with pytest.raises(StorageBenchError, match="give steps .* or min_steps, not both"):
        TASKS.create("classification", {"steps": 400, "min_steps": 150}, "[task]")
