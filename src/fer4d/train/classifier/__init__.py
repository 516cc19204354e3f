"""The expression classifier (stage ``train_transformer``): ``options`` (its config section),
``features`` (the data: per-frame features, standardisation, augmentation, batches),
``training`` (the training loop and the stage function), ``inference`` (ensemble probabilities,
loading a trained checkpoint). Its files are ``fer4d.formats.embeddings`` (input),
``fer4d.formats.checkpoints`` and ``fer4d.formats.predictions`` (outputs). Nothing is imported
here, so each user depends only on the part it uses."""
