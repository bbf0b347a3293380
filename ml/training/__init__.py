"""The research bench: FER-2013 and FER+ data, the models, training, distillation, evaluation, shipping."""
