"""Goal-conditioned fine-tuning of the policy with accelerate."""
