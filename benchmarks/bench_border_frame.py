"""Where does the square frame in the demo's Grad-CAM maps come from?

Run on a demo-recipe run folder (``dermnet demo`` writes one):
``python benchmarks/bench_border_frame.py RUN_FOLDER``. Prints JSON: the share of each
map's energy in the outer 10% band and its band/interior ratio per predicted class, on
real test images, on content-free images (uniform grey, the mean colour), with each
image's border band flattened, and for the raw (not upsampled) maps. The numbers in
docs/clinical_trust.md come from it.
"""

import json
import sys

import numpy as np

from dermnet import explain
from dermnet.train.run_folder import RunFolder

run = RunFolder(sys.argv[1])
model = run.load_model()
recs = run.records("test")
imgs, _ = run.read_records(recs)  # what the model sees (after colour constancy)
probs = run.score(model, imgs)
pred = probs.argmax(1)
classes = run.classes
bcc = classes.index("bcc")
cam = explain.GradCAM(model)


def band(h, w, frac=0.1):
    m = np.zeros((h, w), bool)
    b = max(1, round(frac * h))
    m[:b] = m[-b:] = True
    m[:, :b] = m[:, -b:] = True
    return m


def band_energy(maps):
    m = band(*maps.shape[1:3])
    c = np.maximum(maps, 0)
    return c[:, m].sum(1) / np.maximum(c.reshape(len(c), -1).sum(1), 1e-12)


out = {"classes": classes, "n_test": len(imgs), "pred_bcc": int((pred == bcc).sum())}
H, W = imgs.shape[1:3]
out["band_area_share"] = float(band(H, W).mean())
hm, _ = cam.explain(imgs, [int(p) for p in pred])
raw, _ = cam.explain(imgs, [int(p) for p in pred], upsample=False)
out["raw_cam_shape"] = list(raw.shape[1:])
e = band_energy(hm)
out["band_energy_pred_bcc"] = float(e[pred == bcc].mean()) if (pred == bcc).any() else None
out["band_energy_pred_other"] = float(e[pred != bcc].mean())
# raw map: outermost ring of feature cells
r = raw.shape[1]
ring = np.zeros((r, r), bool)
ring[0] = ring[-1] = ring[:, 0] = ring[:, -1] = True
rc = np.maximum(raw, 0)
rs = rc[:, ring].sum(1) / np.maximum(rc.reshape(len(rc), -1).sum(1), 1e-12)
out["raw_ring_area_share"] = float(ring.mean())
out["raw_ring_energy_pred_bcc"] = float(rs[pred == bcc].mean()) if (pred == bcc).any() else None
out["raw_ring_energy_pred_other"] = float(rs[pred != bcc].mean())
# E2: content-free inputs explained for bcc: a frame here comes from the network, not the image
for name, value in (("gray128", 128.0), ("black", 0.0), ("mean_colour", None)):
    x = (
        np.full((4, H, W, 3), 128.0, np.float32)
        if value is not None
        else np.broadcast_to(imgs.mean((0, 1, 2)), (4, H, W, 3)).astype(np.float32)
    )
    if value is not None:
        x[:] = value
    h2, _ = cam.explain(x, [bcc] * 4)
    out[f"{name}_bcc_band_energy"] = (
        float(band_energy(h2).mean()) if h2.max() > 0 else "map all zero"
    )
# E3: the border band replaced by the image mean (no vignette): does the frame stay?
x = imgs.astype(np.float32).copy()
m = band(H, W)
x[:, m] = x.mean((1, 2), keepdims=True)[:, 0]
h3, _ = cam.explain(x, [int(p) for p in pred])
e3 = band_energy(h3)
out["flat_border_band_energy_pred_bcc"] = (
    float(e3[pred == bcc].mean()) if (pred == bcc).any() else None
)
out["flat_border_band_energy_pred_other"] = float(e3[pred != bcc].mean())
# E5: are bcc images' borders different? border/centre brightness ratio per true class (test)
lum = imgs.astype(np.float32).mean(-1)
ratio = lum[:, m].mean(1) / lum[:, ~m].mean(1)
y = recs.labels
out["border_over_centre_brightness_by_class"] = {
    classes[k]: float(ratio[y == k].mean()) for k in range(len(classes)) if (y == k).any()
}


def frame_ratio(maps):
    m = band(*maps.shape[1:3])
    c = np.maximum(maps, 0)
    return c[:, m].mean(1) / np.maximum(c[:, ~m].mean(1), 1e-12)


fr = frame_ratio(hm)
out["frame_ratio_band_over_interior_by_pred"] = {
    classes[k]: [float(np.median(fr[pred == k])), int((pred == k).sum())]
    for k in range(len(classes))
    if (pred == k).any()
}
out["share_of_maps_with_frame_ratio_gt_1.5_by_pred"] = {
    classes[k]: float((fr[pred == k] > 1.5).mean())
    for k in range(len(classes))
    if (pred == k).any()
}
g, _ = cam.explain(np.full((1, H, W, 3), 128.0, np.float32), [bcc])
out["gray_frame_ratio_bcc"] = float(frame_ratio(g)[0]) if g.max() > 0 else None
gall = {}
for k in range(len(classes)):
    gk, _ = cam.explain(np.broadcast_to(imgs.mean((0, 1, 2)), (1, H, W, 3)).astype(np.float32), [k])
    gall[classes[k]] = float(frame_ratio(gk)[0]) if gk.max() > 0 else None
out["mean_colour_input_frame_ratio_by_class"] = gall
fr3 = frame_ratio(h3)
out["flat_border_frame_ratio_by_pred"] = {
    classes[k]: float(np.median(fr3[pred == k])) for k in range(len(classes)) if (pred == k).any()
}
# correlation of each map with the content-free map of its class
print(json.dumps(out, indent=1))
