"""Pure scheduling logic (rungs, promotions): no Ray imports, decision tables testable in memory."""

from caviar.schedule.asha import CONTINUE, STOP, Asha, Bracket, Rungs, milestones, natural_key

__all__ = ["CONTINUE", "STOP", "Asha", "Bracket", "Rungs", "milestones", "natural_key"]
