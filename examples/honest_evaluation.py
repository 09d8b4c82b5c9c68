"""Honest training and evaluation on imbalanced data, on the bundled HAM10000 sample.

Run: python examples/honest_evaluation.py  (about a minute on a laptop CPU)
"""

from dermnet import imbalance, metrics, models
from dermnet.data import load_sample, make_dataset, split

# 1. Split first, grouped by lesion; everything below sees only the training part.
records = load_sample("ham10000")
parts = split(records, test_size=0.25, val_size=0.15, group_by="lesion_id", seed=0)

# 2. A class-balanced training stream (refuses anything but the training split).
size, k = 48, records.num_classes
train_ds = imbalance.balanced_dataset(
    parts.train, size, 32, holdout=[parts.val, parts.test], cache=True, seed=0
)
val_ds = make_dataset(parts.val, size, 64, cache=True)
test_ds = make_dataset(parts.test, size, 64, cache=True)

# 3. Focal loss and metrics that do not reward predicting "nevus" for everything.
model = models.create_model("simple_cnn", k, input_shape=(size, size, 3))
model.compile(
    optimizer="adam",
    loss=imbalance.CategoricalFocalLoss(gamma=2.0),
    metrics=[metrics.BalancedAccuracy(k), metrics.MacroAUC(k)],
)
history = model.fit(train_ds, validation_data=val_ds, epochs=3, shuffle=False, verbose=0)

# 4. Calibrate and choose the melanoma threshold on validation data only.
y_val, s_val = metrics.collect_predictions(model, val_ds)
scaler = metrics.TemperatureScaler().fit(y_val, s_val)
mel = imbalance.tune_threshold(
    y_val, scaler.transform(s_val), "sensitivity", target=0.9, positive_class="mel",
    class_names=records.classes,
)  # fmt: skip

# 5. Evaluate once on the held-out lesions, with intervals and a model card.
y_test, s_test = metrics.collect_predictions(model, test_ds)
report = metrics.evaluate(
    y_test,
    scaler.transform(s_test),
    records.classes,
    model_card=metrics.ModelCard.from_data(parts, model="simple_cnn, focal loss, 3 epochs"),
)
shown = metrics.format_interval(report.balanced_accuracy, *report.intervals["balanced_accuracy"])
print(f"balanced accuracy [95% CI] {shown}")
decided = mel.predict(scaler.transform(s_test))
print(f"melanoma threshold {mel.threshold:.3f}: test sensitivity "
      f"{decided[y_test == mel.positive_class].mean():.2f}")  # fmt: skip
report.to_html("honest_report.html", history=history)
