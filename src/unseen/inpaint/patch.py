"""Exemplar fill: multi-scale PatchMatch with patch voting (Wexler et al. 2007, Barnes et al. 2009).

Large holes need texture, not blur. The hole is filled coarse to fine; at each scale every patch that
touches the hole is matched to its nearest fully-known patch of the same photo, and each hole pixel
becomes the weighted average of what the overlapping matches say it is. The averaging keeps the fill
smooth where the matches disagree (which PSNR rewards) and sharp where they agree; the last vote copies
each pixel from the best match over it instead, which keeps the texture (``PatchFiller.copy_best``).

Everything is vectorised over all hole patches at once: patches are compared through a few PCA
coefficients computed with filters, nearest neighbours are refined by parallel propagation with
shrinking jumps plus random search, and the coarsest scale is searched exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .base import Context, fill_hole, register_filler
from .blend import transfer_low_frequencies
from .opencv import telea_fill
from .smooth import membrane_fill

_INF = np.float32(np.inf)
# Hole patches described at a time (see _Level.target_desc).
_CHUNK = 1 << 16


@dataclass
class PatchFiller:
    """Multi-scale PatchMatch fill with patch voting.

    Parameters
    ----------
    name : str
        Registry name.
    patch : int
        Patch side in pixels (odd).
    coarse_side : int
        The pyramid stops halving before the short side gets below this.
    dims : int
        PCA coefficients per patch used for matching. 8 lose the exact place of thin regular
        structure (a brick wall's joints come back smeared: structure error 9.8 vs 1.5 grey levels
        with 16); 16 cost 0.14 dB hole PSNR on the photo cases.
    coarse_iters, mid_iters, fine_iters : int
        EM iterations (match, then vote) at the coarsest, intermediate and finest scale.
    seed : int
        Seed of the random search, so a photo always gets the same fill.
    init : str
        First guess at the coarsest scale: ``"membrane"`` (harmonic) or ``"telea"``.
    guide : float
        Weight of the structure guide: matches must also agree with the blurred membrane fill, in units
        of a uniform colour shift over the patch. 0 gives free texture synthesis, which copies whole
        objects into the hole and bends edges; about 2 keeps the layout of the smooth fill and adds
        real texture on top. 3 scores +0.1 dB hole PSNR
        over the default 2 but leaves ghosts of the removed object.
    split_sigma : float
        If > 0, the final fill keeps the membrane fill below this blur scale (pixels) and the exemplar
        detail above it. Worth about +0.1 dB hole PSNR on photos, but it washes out regular textures,
        so it is off by default.
    guide_blur : float
        Blur of the structure guide, as a fraction of the patch side.
    context : Context or None
        How much of the photo around each group of holes is looked at (None: the whole photo). Photo
        cases with the crop forced on every photo (hole PSNR / detail, whole photo 16.54 / 0.396):
        margin 0.25, 0.5, 0.75, 1 x the hole's size: 16.55 / 0.388, 16.50 / 0.407, 16.55 / 0.399,
        16.58 / 0.392; no margin (32 px): 16.70 / 0.353, blurrier. 1 x (the default) leaves every photo case
        whole; 0.5 crops four of them: 16.53 / 0.388.
    copy_best : bool
        The last vote, at the finest scale, copies each hole pixel from the best-matching patch over it instead of
        averaging all of them: averaging 49 overlapping patches of texture is a blur. Measured (bench/inpaint.py,
        hole PSNR / detail, averaging -> copying): photo cases 16.54 / 0.40 -> 16.18 / 0.65; car cases
        11.85 / 0.31 -> 11.78 / 0.48. Grass, gravel and brick come back as texture rather than a smear.
    max_search : int or None
        Most pixels a scale is searched at (None: every scale). A larger photo (or box around its holes)
        is searched at the largest halving under this, and the finest scale copies what those matches
        point at, in full resolution and without per-pixel descriptors (which take ~100 bytes a pixel).
        Measured against searching every scale (hole PSNR / detail): 8 real 1920x1080 frames searched
        one halving down, -0.07 dB / +0.05; two halvings down, -0.54 dB / +0.17; 30 street photos of
        ~0.8 MP one halving down, -0.20 dB / +0.06: what costs is searching a small picture, so the
        limit keeps ~1-4 MP. A 48 MP photo then takes ~1.6 GB and ~30 s rather than ~18 GB.
    """

    name: str = "patch"
    patch: int = 7
    coarse_side: int = 32
    dims: int = 16
    coarse_iters: int = 6
    mid_iters: int = 2
    fine_iters: int = 1
    seed: int = 0
    init: str = "membrane"
    guide: float = 2.0
    split_sigma: float = 0.0
    guide_blur: float = 0.33
    context: Context | None = Context(share=1.0)
    copy_best: bool = True
    max_search: int | None = 1 << 22

    def fill(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Fill the masked pixels; see :class:`unseen.inpaint.Filler`."""
        return fill_hole(image, mask, lambda im, hole: exemplar_fill(im, hole, self), self.context)


def exemplar_fill(img: np.ndarray, hole: np.ndarray, cfg: PatchFiller) -> np.ndarray:
    """Fill ``hole`` of the HxWx3 ``img`` (uint8 or float32) coarse to fine; returns the filled image:
    float32, or uint8 when the finest scale was too large to search (see ``PatchFiller.max_search``)."""
    octaves = _octaves_above(hole.shape, cfg.max_search)
    if octaves == 0:
        return _search_fill(img.astype(np.float32, copy=False), hole, cfg)[0]
    small, small_hole = _shrink(img, hole, octaves)
    coarse, level, base = _search_fill(small.astype(np.float32), small_hole, cfg)
    out = _transfer(img, hole, coarse, level, 1 << octaves, cfg.copy_best)
    if cfg.split_sigma > 0:  # on the hole's box only, the smooth fill scaled up there
        ys, xs = np.nonzero(hole)
        margin = int(np.ceil(4 * cfg.split_sigma))
        rows = slice(max(ys.min() - margin, 0), min(ys.max() + margin + 1, hole.shape[0]))
        cols = slice(max(xs.min() - margin, 0), min(xs.max() + margin + 1, hole.shape[1]))
        gy, gx = np.mgrid[rows, cols].astype(np.float32)
        factor = 1 << octaves
        smooth = _sample(base, ((gx + 0.5) / factor - 0.5).ravel(), ((gy + 0.5) / factor - 0.5).ravel())
        part = transfer_low_frequencies(out[rows, cols].astype(np.float32), smooth.reshape(gx.shape + (3,)),
                                        hole[rows, cols], cfg.split_sigma)
        out[rows, cols] = np.clip(np.rint(part), 0, 255).astype(np.uint8)
    return out


def _octaves_above(shape: tuple[int, int], max_pixels: int | None) -> int:
    """How many halvings (as :func:`_pyramid` does them) bring ``shape`` down to ``max_pixels`` or fewer."""
    h, w = shape
    octaves = 0
    while max_pixels is not None and h * w > max_pixels:
        h, w, octaves = (h + 1) // 2, (w + 1) // 2, octaves + 1
    return octaves


def _shrink(img: np.ndarray, hole: np.ndarray, octaves: int) -> tuple[np.ndarray, np.ndarray]:
    """``img`` and ``hole`` halved ``octaves`` times like :func:`_pyramid` (a coarse pixel is a hole if any
    pixel under it is), in uint8 so no full-size float copy is made."""
    im = np.clip(np.rint(img), 0, 255).astype(np.uint8) if img.dtype != np.uint8 else img
    hl = hole.astype(np.uint8) * 255
    for _ in range(octaves):
        size = ((hl.shape[1] + 1) // 2, (hl.shape[0] + 1) // 2)
        im = cv2.resize(im, size, interpolation=cv2.INTER_AREA)
        hl = np.where(cv2.resize(hl, size, interpolation=cv2.INTER_AREA) > 0, 255, 0).astype(np.uint8)
    return im, hl > 0


def _search_fill(img: np.ndarray, hole: np.ndarray, cfg: PatchFiller
                 ) -> tuple[np.ndarray, _Level | None, np.ndarray]:
    """The multi-scale search and vote on float32 ``img``: the filled image, the finest scale's matches
    (None if nothing could be matched there) and the smooth (membrane) fill that guided them."""
    rng = np.random.default_rng(cfg.seed)
    pyramid = _pyramid(img, hole, max(cfg.coarse_side, 2 * cfg.patch))
    # Structure first: the smooth fill fixes the layout that the exemplar texture must follow.
    base = membrane_fill(img, hole)
    cur = prev = None
    for depth, (im, hl) in enumerate(reversed(pyramid)):
        guide = None
        if cfg.guide > 0:
            # Weight in units of a uniform colour shift over the whole patch (p * p pixels).
            scale = np.float32(np.sqrt(cfg.guide) * cfg.patch)
            guide = cv2.GaussianBlur(cv2.resize(base, (im.shape[1], im.shape[0]), interpolation=cv2.INTER_AREA),
                                     (0, 0), cfg.patch * cfg.guide_blur) * scale
        lv = _Level(im, hl, cfg.patch, cfg.dims, rng, guide)
        del guide
        if prev is None:
            cur = membrane_fill(im, hl) if cfg.init == "membrane" else telea_fill(im, hl)
        else:
            cur = im.copy()
            cur[hl] = cv2.resize(prev[0], (im.shape[1], im.shape[0]), interpolation=cv2.INTER_LINEAR)[hl]
        if lv.n_src == 0:  # nothing fully known to copy from at this scale: keep the smooth guess
            prev = (cur, None)
            continue
        finest = depth == len(pyramid) - 1
        if prev is None or prev[1] is None:
            iters = cfg.coarse_iters
            lv.exhaustive(lv.target_desc(cur))
        else:
            iters = cfg.fine_iters if finest else cfg.mid_iters
            lv.upsample_from(prev[1])
            prev = None  # the coarser scale's matches are not needed any more
            cur = lv.vote(cur, uniform=True)
        for it in range(iters):
            desc = lv.target_desc(cur)
            if lv.small:
                lv.exhaustive(desc)
            else:
                lv.rescore(desc)
                lv.propagate(desc)
                lv.random_search(desc)
            cur = lv.vote(cur, best=cfg.copy_best and finest and it == iters - 1)
        prev = (cur, lv)
    if cfg.split_sigma > 0:
        cur = transfer_low_frequencies(cur, base, hole, cfg.split_sigma)
    return cur, prev[1], base


def _transfer(img: np.ndarray, hole: np.ndarray, coarse: np.ndarray, level: _Level | None, factor: int,
              best: bool = False) -> np.ndarray:
    """Fill ``hole`` of the full-size ``img`` from the matches of a scale ``factor`` times smaller.

    Each coarse match, scaled up, says where to copy a ``factor`` x ``factor`` block from (as the finer
    scales of :func:`_search_fill` start, before they search); every hole pixel is the weighted mean of
    what the overlapping full-size patches so placed hold, each weighing what its coarse match weighed (or,
    with ``best``, what the weightiest of them holds), and only from patches fully known at full size. Pixels
    no such patch covers take the coarse fill, scaled up. Works in bands of rows: no full-size array beyond
    the image, the hole and where patches are fully known. Returns a uint8 image.
    """
    out = img.copy() if img.dtype == np.uint8 else np.clip(np.rint(img), 0, 255).astype(np.uint8)
    h, w = hole.shape
    r = (level.p if level is not None else 7) // 2
    valid = ~cv2.dilate(hole.view(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)).view(bool)
    valid[:r], valid[h - r:], valid[:, :r], valid[:, w - r:] = False, False, False, False
    band = max(1, (1 << 18) // w)  # rows at a time: ~256 K pixels
    for y0 in range(0, h, band):
        hy, hx = np.nonzero(hole[y0:y0 + band])
        if not len(hy):
            continue
        hy, hx = (hy + y0).astype(np.int32), hx.astype(np.int32)
        votes = _Votes(len(hy), best)
        for dy, dx in (zip(level.oy, level.ox, strict=True) if level is not None else ()):
            ty, tx = np.clip(hy - dy, 0, h - 1), np.clip(hx - dx, 0, w - 1)
            cy, cx = np.minimum(ty // factor, level.h - 1), np.minimum(tx // factor, level.w - 1)
            sy = level.ny[cy, cx] * factor + ty % factor
            sx = level.nx[cy, cx] * factor + tx % factor
            ok = (sy < h) & (sx < w)
            ok[ok] = valid[sy[ok], sx[ok]]
            # Patches that are not fully known weigh nothing (and are read at a safe place).
            sy, sx = np.where(ok, sy, r), np.where(ok, sx, r)
            votes.add(np.where(ok, level.weights[cy, cx], 0).astype(np.float32), img[sy + dy, sx + dx])
        have, values = votes.result()
        if not have.all():  # the coarse fill, scaled up (bilinear, pixel centres)
            lost = ~have
            values[lost] = _sample(coarse, (hx[lost] + 0.5) / factor - 0.5, (hy[lost] + 0.5) / factor - 0.5)
        out[hy, hx] = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return out


def _sample(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples (N x C) of ``image`` at sub-pixel points, clamped at its borders."""
    grid_x = np.ascontiguousarray(x, np.float32).reshape(1, -1)
    grid_y = np.ascontiguousarray(y, np.float32).reshape(1, -1)
    out = np.empty((len(x), image.shape[2]), np.float32)
    for a in range(0, len(x), 16384):  # cv2.remap maps stay under 32767 wide
        out[a:a + 16384] = cv2.remap(image, grid_x[:, a:a + 16384], grid_y[:, a:a + 16384], cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)[0]
    return out


def _matmul_t(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` in float32 through OpenCV.

    NumPy's OpenBLAS spins up one thread per core; when the other core is busy (a video pipeline, a
    second process) that made a fill 50x slower here. OpenCV's gemm does not have that failure.
    """
    a = np.ascontiguousarray(a, np.float32)
    b = np.ascontiguousarray(b, np.float32)
    return cv2.gemm(a, b, 1.0, None, 0.0, flags=cv2.GEMM_2_T)


def _pyramid(img: np.ndarray, hole: np.ndarray, min_side: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Halve image and hole until the short side would drop below ``min_side``; finest first."""
    levels = [(img, hole)]
    while min(levels[-1][1].shape) // 2 >= min_side:
        im, hl = levels[-1]
        size = ((hl.shape[1] + 1) // 2, (hl.shape[0] + 1) // 2)
        # A coarse pixel is a hole if any fine pixel under it is, so hole colours never leak into sources.
        small_hole = cv2.resize(hl.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 1e-3
        levels.append((cv2.resize(im, size, interpolation=cv2.INTER_AREA), small_hole))
    return levels


class _Level:
    """Nearest-neighbour field and voting at one scale of the pyramid."""

    def __init__(self, img: np.ndarray, hole: np.ndarray, patch: int, dims: int, rng: np.random.Generator,
                 guide: np.ndarray | None = None):
        self.img, self.hole, self.rng, self.guide = img, hole, rng, guide
        self.guided = guide is not None
        self.h, self.w = hole.shape
        self.p, self.r = patch, patch // 2
        r = self.r
        box = np.ones((patch, patch), np.uint8)
        interior = np.zeros_like(hole)
        interior[r:self.h - r, r:self.w - r] = True
        touched = cv2.dilate(hole.astype(np.uint8), box).astype(bool)
        self.valid = ~touched & interior  # centres of patches that are fully known
        self.n_src = int(self.valid.sum())
        self.ty, self.tx = np.nonzero(touched & interior)  # centres of patches that touch the hole
        oy, ox = np.mgrid[-r:r + 1, -r:r + 1]
        self.oy, self.ox = oy.ravel(), ox.ravel()
        self.ny = np.zeros(hole.shape, np.int32)
        self.nx = np.zeros(hole.shape, np.int32)
        self.cost = np.full(len(self.ty), _INF, np.float32)
        self.small = len(self.ty) * self.n_src <= 4e6
        self.weights = np.zeros(hole.shape, np.float32)
        if self.n_src:
            self._fit_pca(dims)

    def _patches(self, img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        return img[ys[:, None] + self.oy, xs[:, None] + self.ox].reshape(len(ys), -1)

    def _fit_pca(self, dims: int) -> None:
        sy, sx = np.nonzero(self.valid)
        pick = self.rng.choice(len(sy), size=min(len(sy), 3000), replace=False)
        sample = self._patches(self.img, sy[pick], sx[pick])
        mean, comps = cv2.PCACompute(np.ascontiguousarray(sample, np.float32), None, maxComponents=dims)
        self.mean, self.comps = mean[0], np.ascontiguousarray(comps, np.float32)
        # The coefficients of every patch at once: one correlation filter per component and channel,
        # written straight into one array that also holds the guide (no concatenated copy).
        k = len(self.comps)
        self.src = np.empty((self.h, self.w, k + (0 if self.guide is None else 3)), np.float32)
        kern = self.comps.reshape(k, self.p, self.p, 3)
        planes = [np.ascontiguousarray(self.img[..., c]) for c in range(3)]
        for i in range(k):
            acc = sum(cv2.filter2D(planes[c], -1, kern[i, ..., c], borderType=cv2.BORDER_REFLECT)
                      for c in range(3))
            self.src[..., i] = acc - float(self.comps[i] @ self.mean)
        del planes
        if self.guide is not None:
            self.src[..., k:] = self.guide
        self.guide = None  # kept in src alone

    def target_desc(self, cur: np.ndarray) -> np.ndarray:
        """PCA coefficients of the patches that touch the hole, taken from the current fill."""
        # In chunks: the patches themselves take 49 x 3 floats (and twice that in indices) each.
        desc = np.concatenate([_matmul_t(self._patches(cur, self.ty[a:a + _CHUNK], self.tx[a:a + _CHUNK])
                                         - self.mean, self.comps) for a in range(0, len(self.ty), _CHUNK)]) \
            if len(self.ty) > _CHUNK else _matmul_t(self._patches(cur, self.ty, self.tx) - self.mean, self.comps)
        if self.guided:
            desc = np.concatenate([desc, self.src[self.ty, self.tx, len(self.comps):]], axis=1)
        return desc

    def exhaustive(self, desc: np.ndarray) -> None:
        """Exact nearest fully-known patch for every hole patch (used when the scale is small)."""
        sy, sx = np.nonzero(self.valid)
        src = self.src[sy, sx]
        s2 = (src * src).sum(1)
        step = max(1, int(2e6 // max(len(sy), 1)))
        for a in range(0, len(desc), step):
            d = desc[a:a + step]
            dist = s2[None, :] - 2.0 * _matmul_t(d, src)
            best = dist.argmin(1)
            self.ny[self.ty[a:a + step], self.tx[a:a + step]] = sy[best]
            self.nx[self.ty[a:a + step], self.tx[a:a + step]] = sx[best]
            self.cost[a:a + step] = np.maximum(dist[np.arange(len(d)), best] + (d * d).sum(1), 0)

    def _try(self, desc: np.ndarray, cy: np.ndarray, cx: np.ndarray) -> None:
        """Keep candidate sources (cy, cx) where they beat the current match."""
        cy = np.clip(cy, 0, self.h - 1)
        cx = np.clip(cx, 0, self.w - 1)
        d = ((self.src[cy, cx] - desc) ** 2).sum(1)
        d[~self.valid[cy, cx]] = _INF
        better = d < self.cost
        self.cost[better] = d[better]
        self.ny[self.ty[better], self.tx[better]] = cy[better]
        self.nx[self.ty[better], self.tx[better]] = cx[better]

    def rescore(self, desc: np.ndarray) -> None:
        """Recompute the cost of the current matches after the fill changed."""
        self.cost[:] = _INF
        self._try(desc, self.ny[self.ty, self.tx], self.nx[self.ty, self.tx])

    def propagate(self, desc: np.ndarray, jumps: tuple[int, ...] = (8, 4, 2, 1)) -> None:
        """Offer each patch its neighbours' matches, shifted back (parallel, with shrinking jumps)."""
        for j in jumps:
            for dy, dx in ((j, 0), (-j, 0), (0, j), (0, -j)):
                ny = np.clip(self.ty + dy, 0, self.h - 1)
                nx = np.clip(self.tx + dx, 0, self.w - 1)
                self._try(desc, self.ny[ny, nx] - dy, self.nx[ny, nx] - dx)

    def random_search(self, desc: np.ndarray) -> None:
        """Try random sources around the current match, in windows halving from the whole photo."""
        rad = max(self.h, self.w)
        while rad >= 1:
            cy = self.ny[self.ty, self.tx] + self.rng.integers(-rad, rad + 1, len(self.ty), dtype=np.int32)
            cx = self.nx[self.ty, self.tx] + self.rng.integers(-rad, rad + 1, len(self.ty), dtype=np.int32)
            self._try(desc, cy, cx)
            rad //= 2

    def upsample_from(self, coarse: _Level) -> None:
        """Start from the coarser scale's matches, doubled; the next rescore drops invalid ones."""
        cy = np.minimum(self.ty // 2, coarse.h - 1)
        cx = np.minimum(self.tx // 2, coarse.w - 1)
        self.ny[self.ty, self.tx] = np.clip(coarse.ny[cy, cx] * 2 + self.ty % 2, 0, self.h - 1)
        self.nx[self.ty, self.tx] = np.clip(coarse.nx[cy, cx] * 2 + self.tx % 2, 0, self.w - 1)
        ok = self.valid[self.ny[self.ty, self.tx], self.nx[self.ty, self.tx]]
        self.cost[:] = np.where(ok, 0, _INF)

    def vote(self, cur: np.ndarray, uniform: bool = False, best: bool = False) -> np.ndarray:
        """Set each hole pixel to the weighted mean of what the overlapping matched patches say (with ``best``,
        to what the best-matching one says)."""
        weight = np.zeros(self.hole.shape, np.float32)
        ok = np.isfinite(self.cost)
        if uniform:
            weight[self.ty[ok], self.tx[ok]] = 1.0
        elif ok.any():
            # Good matches count more; the scale adapts to how well this photo matches at all.
            sigma2 = max(float(np.percentile(self.cost[ok], 75)), 1e-3)
            weight[self.ty[ok], self.tx[ok]] = np.exp(-self.cost[ok] / (2 * sigma2))
        hy, hx = np.nonzero(self.hole)
        votes = _Votes(len(hy), best)
        for dy, dx in zip(self.oy, self.ox, strict=True):
            ty = np.clip(hy - dy, 0, self.h - 1)
            tx = np.clip(hx - dx, 0, self.w - 1)
            sy = np.clip(self.ny[ty, tx] + dy, 0, self.h - 1)
            sx = np.clip(self.nx[ty, tx] + dx, 0, self.w - 1)
            votes.add(weight[ty, tx], self.img[sy, sx])
        self.weights = weight  # what each match weighed, for a finer scale that copies without searching
        out = cur.copy()
        have, values = votes.result()
        out[hy[have], hx[have]] = values[have]
        return out


class _Votes:
    """What the overlapping patches say of N pixels, one patch offset at a time: their weighted mean, or what the
    weightiest of them says (``best``)."""

    def __init__(self, count: int, best: bool) -> None:
        self.best = best
        self.colours = np.zeros((count, 3), np.float32)  # weighted sum, or the weightiest vote's colour
        self.weight = np.zeros(count, np.float32)  # summed, or the weightiest vote's

    def add(self, weight: np.ndarray, colours: np.ndarray) -> None:
        if self.best:  # (ties keep the first offset's colour)
            better = weight > self.weight
            self.colours[better] = colours[better]
            self.weight[better] = weight[better]
        else:
            self.colours += weight[:, None] * colours
            self.weight += weight

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(which pixels some patch spoke for, their colours: N x 3 float32)."""
        have = self.weight > 1e-8
        values = np.zeros_like(self.colours)
        values[have] = self.colours[have] if self.best else self.colours[have] / self.weight[have, None]
        return have, values


register_filler("patch", PatchFiller)
# Free texture synthesis, kept to show what the structure guide buys.
register_filler("patch-free", lambda: PatchFiller("patch-free", guide=0.0, split_sigma=0.0))
# The mean of the votes to the end: softer, and steadier where a video's frames are filled one by one (the video
# engine's fill for what no frame shows).
register_filler("patch-soft", lambda: PatchFiller("patch-soft", copy_best=False))
