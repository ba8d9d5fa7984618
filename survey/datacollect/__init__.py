"""Data collection (填报): schools enter their indicator data online through their own link;
bureau staff review, return, close the round into an evaluation. Blueprint in ``views``."""
