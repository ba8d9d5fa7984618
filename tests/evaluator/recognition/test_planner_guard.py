"""The apportioning loop refuses infeasible or overflowing inputs instead of looping forever."""

import numpy as np
import pytest

from evaluator.errors import InputError
from evaluator.recognition.planner import apportion


def test_overflowing_sizes_raise_instead_of_hanging():
    with pytest.raises(InputError, match="无法把 10 份配额"):
        apportion(10, np.array([1e20, 5.0]))


def test_ordinary_case_still_sums_to_n():
    q = apportion(10, np.array([30.0, 10.0, 0.0, 60.0]))
    assert q.sum() == 10 and q[2] == 0 and list(q) == [3, 1, 0, 6]
