"""What an operator needs to see an attack in a score: where standing came from by seed
group, and flags for the shapes attacks leave."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.trust.behaviour import BehaviourTally
from server.trust.graph import BoolArray, FloatArray, IntArray
from server.trust.standing import Standing, to_standing_scores

# Flag bits, stored as an integer; names as Reputation.flags documents them.
FLAG_UNRATED = 1
FLAG_ONE_GROUP = 2
FLAG_FEW_RATERS = 4
FLAG_MOVED_SHARPLY = 8
FLAG_NAMES = {
    FLAG_UNRATED: "UNRATED",
    FLAG_ONE_GROUP: "STANDING_FROM_ONE_GROUP",
    FLAG_FEW_RATERS: "BEHAVIOUR_FROM_ONE_RATER",
    FLAG_MOVED_SHARPLY: "SCORE_MOVED_SHARPLY",
}
ONE_GROUP_SHARE = 0.5
ONE_RATER_SHARE = 0.5
SHARP_MOVE = 20.0


@dataclass(frozen=True)
class Explanation:
    rated: BoolArray
    groups: IntArray  # seed groups the agent holds any standing from
    group: IntArray  # (agents, k) the groups giving most standing, -1 where none
    group_share: FloatArray  # (agents, k) their share of the agent's standing
    flags: IntArray


def explain(held: Standing, tally: BehaviourTally, verified: BoolArray, k: int) -> Explanation:
    n = held.standing.shape[0]
    share = held.share
    # Rated when either part shows evidence at the precision reported: a standing score
    # above 0 (standing of at least 2^-20 of full) or a behaviour confidence of 0.0001.
    # Below both, the score is 0 for want of evidence, and says so rather than tie at 0.
    rated = (to_standing_scores(held.standing) > 0) | (tally.confidence > 0)
    group = np.full((n, k), -1, dtype=np.int64)
    group_share = np.zeros((n, k))
    groups = np.zeros(n, dtype=np.int64)
    if share.shape[1]:
        groups = (share > 0).sum(axis=1).astype(np.int64)
        total = share.sum(axis=1, keepdims=True)
        fraction = np.divide(share, total, out=np.zeros_like(share), where=total > 0)
        width = min(k, share.shape[1])
        order = np.argsort(-fraction, axis=1, kind="stable")[:, :width]
        picked = np.take_along_axis(fraction, order, axis=1)
        group[:, :width] = np.where(picked > 0, order, -1)
        group_share[:, :width] = np.round(picked, 4)
    flags = np.where(rated, 0, FLAG_UNRATED)
    one_group = (group_share[:, 0] > ONE_GROUP_SHARE) & (held.groups > 1) & ~verified
    flags |= np.where(one_group & (held.standing > 0), FLAG_ONE_GROUP, 0)
    rater_total = tally.weight
    top_rater = tally.rater_weight[:, 0] if tally.rater_weight.size else np.zeros(n)
    few = (tally.claims > 1) & (top_rater > ONE_RATER_SHARE * rater_total) & (rater_total > 0)
    flags |= np.where(few, FLAG_FEW_RATERS, 0)
    return Explanation(rated, groups, group, group_share, flags.astype(np.int64))


def sharp_moves(score: FloatArray, before: FloatArray) -> IntArray:
    """The flag for scores that moved more than SHARP_MOVE points since the last run."""
    return np.where(np.abs(score - before) > SHARP_MOVE, FLAG_MOVED_SHARPLY, 0).astype(np.int64)


def flag_names(flags: int) -> list[str]:
    return [name for bit, name in FLAG_NAMES.items() if flags & bit]
