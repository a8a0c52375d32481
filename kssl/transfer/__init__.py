"""Transfer: a pretrained encoder turned into a classifier and fine-tuned on few labels."""
