"""Social-recognition estimator (DOMAIN.md §6): rules, responses, filters, cells, estimate, planner."""

from evaluator.recognition.planner import SamplePlan, plan_sample, population_total_n

__all__ = ["SamplePlan", "plan_sample", "population_total_n"]
