import numpy as np
import pytest

from storagebench.tasks.subsets import nested_subset, stratified_order


@pytest.fixture
def labels():
    rng = np.random.default_rng(3)
    return rng.choice(4, size=1000, p=[0.4, 0.3, 0.2, 0.1])


def test_every_prefix_is_class_stratified(labels):
    order = stratified_order(labels, seed=0)
    assert sorted(order.tolist()) == list(range(len(labels)))
    share = np.bincount(labels) / len(labels)
    for n in (10, 37, 100, 555):
        counts = np.bincount(labels[order[:n]], minlength=4)
        assert np.all(np.abs(counts - share * n) <= 1.0), (n, counts, share * n)


def test_subsets_are_nested_and_fixed_by_seed(labels):
    small, large = nested_subset(labels, 50, seed=1), nested_subset(labels, 400, seed=1)
    assert set(small) <= set(large)
    assert np.array_equal(small, nested_subset(labels, 50, seed=1))
    assert not np.array_equal(small, nested_subset(labels, 50, seed=2))


def test_n_outside_the_split_is_refused(labels):
    with pytest.raises(ValueError):
        nested_subset(labels, len(labels) + 1, seed=0)
