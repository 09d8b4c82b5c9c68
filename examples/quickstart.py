"""Quickstart: train, evaluate and explain a small CNN on the bundled HAM10000 sample.

Run with: python examples/quickstart.py (about 20 seconds on 2 CPU cores).
"""

import dermnet

records = dermnet.load_sample("ham10000")  # 700 real images, 7 classes
train, val, test = dermnet.split(records, test_size=0.2, val_size=0.15, seed=0)
assert dermnet.check_leakage(train, test).ok  # grouped by lesion_id: no leak

train_ds = dermnet.make_dataset(train, 64, batch_size=32, shuffle=True, seed=0)
val_ds = dermnet.make_dataset(val, 64, batch_size=64)
test_ds = dermnet.make_dataset(test, 64, batch_size=64)

model = dermnet.create_model("simple_cnn", num_classes=7, input_shape=(64, 64, 3))
dermnet.fit(model, train_ds, val_ds, epochs=2, class_weight=dermnet.class_weights(train))

report = dermnet.evaluate(test.labels, model.predict(test_ds), records.classes)
print(report.to_markdown())  # balanced accuracy, AUC, per class

images = next(iter(test_ds))[0].numpy()[:4]
heatmaps = dermnet.GradCAM(model)(images)  # (4, 64, 64) in [0, 1]
overlaid = dermnet.overlay(images[0], heatmaps[0])
