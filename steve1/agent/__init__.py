"""The STEVE-1 agent: goals (text -> MineCLIP -> prior, visual prompt, none) and batched guided acting.

    models = load_agent_models()                     # released files (or random_weights=True)
    goal = text_goal("chop down the tree", models.embedder, models.prior)
    agent = Steve1Agent(models.policy, n_worlds=1, cond_scale=6.0)
    action = agent.act([obs], goal)[0]
"""
from steve1.agent.agent import Steve1Agent
from steve1.agent.goals import (
    PAPER_TEXT_PROMPTS,
    TEXT_COND_SCALE,
    VISUAL_COND_SCALE,
    GoalError,
    check_goal,
    check_prompt,
    normalize_interactive_prompt,
    text_goal,
    text_goals,
    visual_goal_from_frames,
    visual_goal_from_pickle,
    zero_goal,
)
from steve1.agent.models import (
    RANDOM_WEIGHTS_LABEL,
    AgentModels,
    MissingWeightsError,
    load_agent_models,
)

__all__ = [
    "PAPER_TEXT_PROMPTS", "RANDOM_WEIGHTS_LABEL", "TEXT_COND_SCALE", "VISUAL_COND_SCALE", "AgentModels",
    "GoalError", "MissingWeightsError", "Steve1Agent", "check_goal", "check_prompt", "load_agent_models",
    "normalize_interactive_prompt", "text_goal", "text_goals", "visual_goal_from_frames",
    "visual_goal_from_pickle", "zero_goal",
]
