"""Training the segmenters on the user's own data: datasets, augmentation, the training loop."""
