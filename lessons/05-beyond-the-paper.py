# %% [markdown]
# # 05 · Beyond the paper: why Gram matrices, colour, resolution, several styles, artefacts, training
#
# The questions people ask right after reading Gatys et al. (2016), each answered by an
# experiment you run:
#
# 1. **Why Gram matrices?** What do they keep, what do they forget, and would another
#    statistic do? *(exercise: a mean + covariance style loss)*
# 2. **Can I keep my photo's colours?** Luminance-only transfer and colour matching
#    (Gatys et al., CVPR 2017).
# 3. **Larger images, less time?** Coarse to fine, and the style image's scale.
# 4. **Several styles at once?** Blends of Gram matrices.
# 5. **Why the grainy artefacts?** The total-variation term. *(exercise: `tv_loss`)*
# 6. **Does the network need to be trained at all?**
#
# **Objectives:** explain why a Gram-matrix style ignores layout; keep a photo's colours
# two ways and measure it; time coarse to fine against a single scale; blend styles;
# remove high-frequency artefacts; say why per-layer normalisation makes untrained
# networks usable.
#
# **Time:** about 60 minutes of teaching and exercises. The cells make 16 optimisations
# of at most 60 steps at 128 px: about 4 minutes on a 2-core laptop (each long cell
# says how long first).

# %%
import copy
import dataclasses

import torch

import nst_course as nst
from nst_course import plotting
from nst_course.course.analysis import LossClock, high_pass, high_pass_picture, position_test
from nst_course.engine.colour import chroma_difference, match_colour

settings = nst.lesson_settings(5)
net = nst.load_vgg19()
photo = nst.load_image("town", size=settings.size)
style_full, style_caption = nst.load_painting("starry_night")
style = nst.resize(style_full, settings.size)
style_b, style_b_caption = nst.load_painting("composition_vii", size=settings.size)
name_a, name_b = (caption.split(" (")[0] for caption in (style_caption, style_b_caption))  # short names for titles
print("weights:", net.weights)
print("style A:", style_caption)
print("style B:", style_b_caption)
print(f"size: {photo.shape[-2]} x {photo.shape[-1]} px; at most {settings.steps} L-BFGS steps per run")
print(f"style layers {settings.style_layers}, normalisation {settings.normalization!r}")

# %% [markdown]
# If the weights say *random*, the network is untrained: every picture below shows
# what the method does with an untrained VGG-19, not the paper's pictures. Part 6 is
# about exactly that difference.
#
# ## 1 · Why Gram matrices?
#
# The Gram matrix of a layer is $G_{ij} = \frac{1}{M}\sum_k F_{ik} F_{jk}$, over the
# $M$ positions $k$; the content loss compares the features $F$ position by position.
#
# **Predict:** shuffle the positions of the photo's feature map at the third style
# layer. Will the Gram matrix change? Will the content loss be zero?

# %%
# NBVAL_CHECK_OUTPUT
layer = settings.style_layers[2]
features = net(photo, [layer])[layer]
test = position_test(features, statistic=nst.gram_matrix)
print(f"{layer}: positions shuffled")
print("the Gram matrix is unchanged:", test.statistic_unchanged)
print("the features changed (the content loss sees it):", test.features_changed)

# %% [markdown]
# Why: $G$ is a sum over positions, and a sum does not care about the order of its
# terms, while the content loss compares position $k$ with position $k$. This holds for
# any weights, trained or not: it is arithmetic, not learning. A Gram-matrix style
# therefore keeps *which features occur together* and forgets *where*:
# strokes and colours survive, the painting's layout does not.
#
# ### Gram matrix or covariance?
#
# Take each channel's mean $m_i$ over positions away first and you get the *centred*
# covariance $S_{ij} = \frac1M \sum_k (F_{ik} - m_i)(F_{jk} - m_j)$. The two are related by
# $G = S + m\,m^T$: the Gram matrix mixes the channels' averages into their co-variation.
# How much of each layer's Gram matrix is made of the means?

# %%
style_features = net(style, settings.style_layers)
for name, value in style_features.items():
    m = nst.analysis.channel_means(value)
    share = (m[:, :, None] * m[:, None, :]).norm() / nst.gram_matrix(value).norm()
    print(f"{name}: |m m^T| / |G| = {float(share):.2f}")

# %% [markdown]
# Where the share is near 1, most of the Gram matrix is just the outer product of the
# channel means. The style layers are rectified (a ReLU's output is never negative), so
# their channel means are far from zero. A style loss could match the means and the
# covariances separately instead, which weighs the two parts differently. Does the
# texture change?
#
# ### Exercise: a mean + covariance style loss
#
# Write `mean_covariance_loss(features, target)`. Both are (B, C, H, W) feature maps of
# one layer, `features` from the image being made and `target` from the style image; their
# H and W may differ. Compute, for each, the channel means $m$ (B, C) over positions and
# the covariance matrices $S$ (B, C, C), divided by H·W, the number of positions. Return
# $\sum (m - m_t)^2 + \sum (S - S_t)^2$, one number.


# %%
def mean_covariance_loss(features, target):
    """Squared differences of channel means plus squared differences of covariance matrices."""

    # BEGIN SOLUTION: for each input, the channel means m (B, C) and covariances S (B, C, C); return the loss above
    def stats(f):
        b, c, h, w = f.shape
        flat = f.reshape(b, c, h * w)
        mean = flat.mean(dim=2)
        centred = flat - mean[:, :, None]
        return mean, centred @ centred.transpose(1, 2) / (h * w)

    m, s = stats(features)
    m_t, s_t = stats(target)
    return (m - m_t).pow(2).sum() + (s - s_t).pow(2).sum()
    # END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_mean_covariance_loss(mean_covariance_loss)

# %% [markdown]
# ### Your loss in the loop
#
# The package's loop, `nst.optimize`, takes any objective: a callable that maps the
# network's features (and the image) to named loss terms, with a `layers` attribute that
# says which layers it needs. Here is one built from *any* per-layer style loss. Each
# layer's loss is divided by its value for all-zero features, so every layer starts near
# 1, as the package's `"relative"` normalisation does for the Gram loss.


# %%
class PerLayerStyle:
    """A style objective from a per-layer loss(features, target_features); what nst.optimize needs."""

    def __init__(self, layer_loss, style_image, layers):
        self.layer_loss = layer_loss
        self.layers = list(layers)
        with torch.no_grad():
            self.targets = net(style_image, self.layers)
            self.scales = {name: float(layer_loss(torch.zeros_like(t), t)) for name, t in self.targets.items()}

    def __call__(self, features, image):
        share = 1.0 / len(self.layers)
        return {
            f"style {name}": share * self.layer_loss(features[name], target) / self.scales[name]
            for name, target in self.targets.items()
        }


your_loss = mean_covariance_loss if passed else nst.analysis.mean_covariance_loss
whose = "yours" if passed else "the package's"
print("the run below uses", "your function" if passed else "the package's function (yours has not passed yet)")

# %% [markdown]
# Two textures from the same white noise: the Gram loss (`nst.synthesize_texture`) and
# yours. **Predict:** will you be able to tell them apart?

# %%
layers = [*settings.content_layers, *settings.style_layers]
seconds = nst.estimate_seconds(net, style, layers=settings.style_layers, steps=settings.steps, runs=2)
print(f"the next cell will take about {seconds:.0f} s (2 runs of {settings.steps} steps)")

# %%
gram_texture = nst.synthesize_texture(style, settings=settings, net=net, progress=False)
noise = torch.rand(style.shape, generator=torch.Generator().manual_seed(settings.seed))  # the same start
objective = PerLayerStyle(your_loss, style, settings.style_layers)
stopping = {"stop_tolerance": settings.stop_tolerance, "stop_window": settings.stop_window}  # as the package's runs
covariance_texture = nst.optimize(
    net, objective, noise, steps=settings.steps, learning_rate=settings.lr, **stopping, progress=False
)
print(f"Gram: loss fell to {100 * (1 - gram_texture.loss_drop):.2g}% of its start")
print(f"mean + covariance: loss fell to {100 * (1 - covariance_texture.loss_drop):.2g}% of its start")

# %%
plotting.show_images(
    [style, gram_texture.image, covariance_texture.image],
    [f"style A: {name_a}", "texture: Gram matrices", f"texture: means + covariances ({whose})"],
    suptitle=f"Two textures from the same noise, {settings.size} px · weights: {net.weights}",
    size=3.2,
)

# %% [markdown]
# Both statistics sum over positions, so both textures lose the layout, on any weights.
# How alike the two textures are, from your run (mean absolute pixel difference, next to
# how far each moved from the noise it started from):

# %%
start = torch.rand(style.shape, generator=torch.Generator().manual_seed(settings.seed))
print(f"Gram against mean + covariance: {float((gram_texture.image - covariance_texture.image).abs().mean()):.3f}")
print(
    f"each from its noise start: {float((gram_texture.image - start).abs().mean()):.3f} (Gram), "
    f"{float((covariance_texture.image - start).abs().mean()):.3f} (mean + covariance)"
)

# %% [markdown]
# The Gram loss mixes the means into every entry of $G$; the mean + covariance loss
# matches them as a separate term. Li et al. (IJCAI 2017, "Demystifying Neural Style
# Transfer") showed that matching Gram matrices is one member of a family of losses that
# match the *distribution* of a layer's features over positions; matching means and
# covariances is another member.

# %%
# NBVAL_CHECK_OUTPUT
drops = (gram_texture.loss_drop, covariance_texture.loss_drop)
print("both textures lowered their loss by more than half:", min(drops) > 0.5)
print("both have the style image's size:", gram_texture.image.shape == covariance_texture.image.shape == style.shape)

# %% [markdown]
# ## 2 · Keeping the photo's colours
#
# A plain transfer copies the painting's palette along with its strokes. Gatys et al.
# (CVPR 2017, "Controlling Perceptual Factors in Neural Style Transfer") give two fixes,
# both options of `nst.transfer` and of the command line (`--preserve-colour`):
#
# * `preserve_colour="luminance"`: transfer on the luminance (brightness) only, then put
#   back the photo's colour channels (I and Q of the YIQ colour space). The painting's
#   luminance is first given the photo's mean and spread.
# * `preserve_colour="histogram"`: first recolour the painting so its colours have the
#   photo's mean and covariance (one affine map of RGB), then transfer as usual.
#
# The recoloured painting that `"histogram"` works from:

# %%
plotting.show_images(
    [photo, style, match_colour(style, photo)],
    ["photo", f"style A: {name_a}", "style A, recoloured"],
    suptitle='preserve_colour="histogram" first gives style A the photo\'s colour mean and covariance (no network)',
    size=3.2,
)

# %% [markdown]
# **Predict:** the plain transfer, then the two ways to keep the photo's colours. Which
# will look closest to the photo? What will each of them lose of the painting?

# %%
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=3)
print(f"the next cell will take about {seconds:.0f} s (3 transfers of {settings.steps} steps)")

# %%
single_clock = LossClock()  # times the plain transfer: part 3 races it
one_scale = (settings.size,)  # from 512 px the package would go coarse to fine by itself: not here
plain = nst.transfer(photo, style, settings=settings, net=net, scales=one_scale, callback=single_clock, progress=False)
single_seconds = single_clock.elapsed()
kept = {
    mode: nst.transfer(photo, style, settings=settings, net=net, preserve_colour=mode, progress=False)
    for mode in ("luminance", "histogram")
}
print("preserve_colour recorded with the result:", kept["luminance"].settings["preserve_colour"])

# %%
plotting.show_images(
    [photo, plain.image, kept["luminance"].image, kept["histogram"].image],
    ["photo", "plain transfer (style A)", 'preserve_colour="luminance"', 'preserve_colour="histogram"'],
    suptitle=f"Keeping the photo's colours (Gatys et al. 2017), {settings.size} px · weights: {net.weights}",
    size=3.2,
)

# %% [markdown]
# How far are the results' colours from the photo's? `chroma_difference` measures, per
# pixel, the distance between two colours in the (I, Q) plane, ignoring brightness, and
# averages it over the image: 0 means "the photo's colours exactly".

# %%
distances = {"plain": chroma_difference(plain.image, photo)}
distances |= {mode: chroma_difference(result.image, photo) for mode, result in kept.items()}
for name, value in distances.items():
    print(f"{name:>9}: mean chroma difference to the photo {value:.4f}")

# %%
# NBVAL_CHECK_OUTPUT
print("luminance-only is closer to the photo's colours than plain:", distances["luminance"] < distances["plain"])
print("colour matching is closer to the photo's colours than plain:", distances["histogram"] < distances["plain"])

# %% [markdown]
# Read the three distances above. Luminance-only transfer keeps the photo's colours by
# construction, on any network (what is left is rounding at the edges of the colour
# range); the strokes appear as light and dark only. Colour matching gives the painting
# the photo's colour mean and covariance before the transfer, so it moves the palette to
# the photo's while keeping the painting's own colour *variation*: each pixel's colour can
# still wander from the photo's, which is why its distance is usually between the other
# two (the check above tests only that both are closer than the plain transfer). Command line:
# `nst-course transfer town starry_night --preserve-colour luminance -o out.png`.
#
# ## 3 · Resolution: coarse to fine, and the style image's scale
#
# **Coarse to fine** (the authors' own code; Gatys et al. 2017): optimise a small image
# first, upsample it, and continue at full size. A step at half the size has a quarter of
# the pixels to work on, so it is cheaper (the next cell prints by how much on your
# machine: at small sizes fixed costs weigh more, so less than four times), and the small
# image's layout and large strokes are a good start. Does the plan reach the plain
# transfer's lowest loss (at full size) in less time? The plain transfer above was timed;
# now the coarse-to-fine plan, stopped as soon as it gets there. **Predict** first.

# %%
coarse_size, coarse_steps = settings.size // 2, settings.steps // 2
full_step = nst.estimate_seconds(net, photo, layers=layers, steps=1)
coarse_step = nst.estimate_seconds(net, nst.resize(photo, coarse_size), layers=layers, steps=1)
print(f"one step takes about {full_step:.2f} s at {settings.size} px and {coarse_step:.2f} s at {coarse_size} px")
print(f"the next cell will take at most about {coarse_steps * coarse_step + settings.steps * full_step:.0f} s")

# %%
clock = LossClock(target=plain.best_loss)
small = nst.transfer(
    photo,
    style,
    settings=settings,
    net=net,
    size=coarse_size,
    scales=(coarse_size,),
    steps=coarse_steps,
    progress=False,
)
start = nst.resize(small.image, tuple(photo.shape[-2:]))
fine = nst.transfer(
    photo, style, settings=settings, net=net, scales=one_scale, init_image=start, callback=clock, progress=False
)
spent = clock.elapsed()
wall, cpu = single_seconds
plan = f"{small.steps_done} steps at {coarse_size} px + {fine.steps_done} at {settings.size} px"
single = f"{plain.steps_done} steps at {settings.size} px"
print(f"single scale: {single} to loss {plain.best_loss:.4g}: {wall:.1f} s (CPU {cpu:.1f} s)")
if clock.reached:
    print(f"coarse to fine: {plan} reached it in {clock.reached[0]:.1f} s (CPU {clock.reached[1]:.1f} s)")
    print(f"coarse to fine took {clock.reached[1] / cpu:.0%} of the single scale's CPU time")
else:
    print(f"coarse to fine: {plan} did not reach it: lowest {fine.best_loss:.4g} after {spent[1]:.1f} s of CPU")

# %%
plotting.show_images(
    [plain.image, small.image, fine.image],
    [
        f"single scale: {plain.steps_done} steps at {settings.size} px",
        f"coarse: {small.steps_done} steps at {coarse_size} px",
        f"then {fine.steps_done} steps at {settings.size} px",
    ],
    suptitle=f"Coarse to fine, style A · weights: {net.weights}",
    size=3.2,
)

# %% [markdown]
# Compare the CPU times printed above (other programs inflate the wall-clock ones). The
# same loss is not the same picture: the coarse-to-fine run starts its full-size steps
# from an upsampled 64 px image, and what it keeps of that blur depends on how many
# full-size steps it takes to reach the loss. Larger images leave more of the early
# work (the layout, the large strokes) to the cheap small steps, so the saving should
# grow with the size: `python experiments/coarse_to_fine_transfer.py --size 256` runs the
# same race. In one call, `nst.transfer(photo, style, size=128, scales=(64, 128))` shares the
# steps between the sizes;
# from 512 px, `nst.transfer` goes coarse to fine by itself (half the size first).
#
# **The style image's scale.** The paper resizes the painting to the photo's size. Its
# strokes then cover as many pixels in the result as in the resized painting. Each layer
# "sees" a fixed number of pixels, so `style_scale` (the style image's size as a multiple
# of the result's) sets how large the painting's strokes and patterns appear.
# **Predict:** with `style_scale=2`, will the swirls in the result be larger or smaller?

# %%
scales = (0.5, 2.0)
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=len(scales))
print(f"the next cell will take about {seconds:.0f} s ({len(scales)} transfers)")

# %%
scaled = {
    scale: nst.transfer(photo, style_full, settings=settings, net=net, style_scale=scale, progress=False)
    for scale in scales
}
plotting.show_images(
    [scaled[0.5].image, plain.image, scaled[2.0].image],
    [
        f"style_scale 0.5 (style A at {round(settings.size * 0.5)} px)",
        "style_scale 1 (the paper; part 2's plain transfer)",
        f"style_scale 2 (style A at {settings.size * 2} px)",
    ],
    suptitle=f"Style A's scale in a {settings.size} px result · weights: {net.weights}",
    size=3.2,
)

# %%
# NBVAL_CHECK_OUTPUT
print("style_scale recorded:", [result.settings["style_scale"] for result in scaled.values()])
print("the result keeps the photo's size:", all(r.image.shape == photo.shape for r in scaled.values()))

# %% [markdown]
# What to expect: a smaller `style_scale` shrinks the painting before its Gram matrices
# are taken, so each layer's filters see more of its motifs at once and the result gets
# finer strokes; a larger one makes the motifs larger than the filters' view, broader
# strokes (and a larger style image to read, which costs memory once). Whether you see
# it depends on the network and the size: compare the three pictures above. Command line: `--style-scale 2`.
#
# ## 4 · Several styles
#
# The style term compares Gram matrices with targets. With several paintings, the
# targets can be a weighted mean of each painting's Gram matrices:
# $A^l = \sum_s w_s A^l_s / \sum_s w_s$. `nst.transfer(photo, [style_a, style_b],
# style_blend=[0.7, 0.3])` does this; the weights are recorded with the result.
# **Predict:** will a 0.3 / 0.7 blend look like a mixture of the two paintings, or like
# one of them?

# %%
blends = [(0.7, 0.3), (0.3, 0.7), (0.0, 1.0)]
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=len(blends))
print(f"the next cell will take about {seconds:.0f} s ({len(blends)} transfers)")

# %%
blended = [
    nst.transfer(photo, [style, style_b], settings=settings, net=net, style_blend=weights, progress=False)
    for weights in blends
]
plotting.show_images(
    [style, plain.image, *(result.image for result in blended), style_b],
    [
        f"style A: {name_a}",
        "A 1 (part 2's plain transfer)",
        *(f"A {a:g} · B {b:g}" for a, b in blends),
        f"style B: {name_b}",
    ],
    suptitle=f"Blends of two styles (style_blend weights under each result) · weights: {net.weights}",
    size=2.6,
)

# %% [markdown]
# The first picture in the row is the plain transfer from part 2 (all weight on A).
# The weights mix Gram matrices, not looks: a painting whose Gram matrices are larger
# (more contrast, stronger colours) counts for more than its weight says. How much larger
# are B's than A's, layer by layer?

# %%
grams_a = nst.objective.style_targets(net, style, settings.style_layers)
grams_b = nst.objective.style_targets(net, style_b, settings.style_layers)
for name in settings.style_layers:
    print(f"{name}: |G_B| / |G_A| = {float(grams_b[name].norm() / grams_a[name].norm()):.2f}")

# %% [markdown]
# Where a ratio above is larger than 1, B counts for more than its weight says at that
# layer. Wrong blends get a one-line error that says what to do:

# %%
# NBVAL_CHECK_OUTPUT
print("recorded:", [result.settings["style_blend"] for result in blended])
for bad in ([1.0], [0.5, -0.5], [0.0, 0.0]):
    try:
        nst.transfer(photo, [style, style_b], settings=settings, net=net, style_blend=bad, progress=False)
    except nst.NSTError as error:
        print(f"style_blend={bad}: {error}")

# %% [markdown]
# Command line: `nst-course transfer town starry_night composition_vii --style-blend 0.7,0.3 -o out.png`.
#
# ## 5 · Artefacts: the total-variation term
#
# Results often carry a fine grain or a checkerboard: pixel-scale patterns that the
# network's deeper features barely see (each average pooling replaces a 2 x 2 window by
# its mean, so a pattern that alternates from one pixel to the next averages out; only
# the layers before the first pooling see it at full strength), so little in the loss
# stops them. A *high-pass* picture (the image minus a slightly blurred copy)
# shows them: bright where the image changes from one pixel to the next.
#
# The total-variation term (Mahendran & Vedaldi 2015) adds a price on neighbouring pixels
# that differ:
#
# $$TV(x) = \operatorname{mean}\,(x_{i,j+1} - x_{i,j})^2 + \operatorname{mean}\,(x_{i+1,j} - x_{i,j})^2$$
#
# over all channels and valid neighbours (no wrapping around the edges).
#
# ### Exercise: write `tv_loss`
#
# `image` is (B, 3, H, W). Return the mean squared difference between horizontal
# neighbours plus the mean squared difference between vertical neighbours, one number.


# %%
def tv_loss(image):
    """Total variation: mean squared horizontal plus mean squared vertical neighbour differences."""
    # BEGIN SOLUTION: mean squared horizontal-neighbour difference + mean squared vertical-neighbour difference
    horizontal = image[..., :, 1:] - image[..., :, :-1]
    vertical = image[..., 1:, :] - image[..., :-1, :]
    return horizontal.pow(2).mean() + vertical.pow(2).mean()
    # END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
tv_passed = nst.check_tv_loss(tv_loss)

# %% [markdown]
# Your `tv_loss` now joins the package's objective, through the same plug-in point as in
# part 1: a small objective that adds one term to the package's terms.


# %%
class WithTotalVariation:
    """The package's objective plus weight * tv(image)."""

    def __init__(self, objective, tv, weight):
        self.objective, self.tv, self.weight = objective, tv, weight
        self.layers = objective.layers

    def __call__(self, features, image):
        return {**self.objective(features, image), "tv": self.weight * self.tv(image)}


tv_weights = (3.0, 30.0)
your_tv = tv_loss if tv_passed else nst.tv_loss
print("the runs below use", "your tv_loss" if tv_passed else "the package's tv_loss (yours has not passed yet)")
print(f"TV weights {tv_weights}; the style weight is {settings.beta:g}, the content weight {settings.content_weight:g}")

# %% [markdown]
# **Predict:** with a TV weight of 3 and of 30, what happens to the grain, and to the
# strokes and the houses' edges?

# %%
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=len(tv_weights))
print(f"the next cell will take about {seconds:.0f} s ({len(tv_weights)} transfers)")

# %%
objective = nst.build_objective(net, settings, content=photo, style=style)
smooth = {
    weight: nst.optimize(
        net,
        WithTotalVariation(objective, your_tv, weight),
        photo,
        steps=settings.steps,
        learning_rate=settings.lr,
        **stopping,
        progress=False,
    )
    for weight in tv_weights
}
results = [plain, *smooth.values()]
plotting.show_images(
    [*(result.image for result in results), *(high_pass_picture(result.image) for result in results)],
    [
        "no TV (part 2's plain transfer)",
        *(f"TV weight {weight:g}" for weight in tv_weights),
        "high-pass: no TV",
        *(f"high-pass: TV weight {weight:g}" for weight in tv_weights),
    ],
    columns=len(results),
    suptitle=f"Total variation against artefacts (high-pass: one gain) · weights: {net.weights}",
    size=3.2,
)

# %%
energy = [float(high_pass(result.image).pow(2).mean()) for result in results]
for name, value in zip(["no TV", *(f"TV weight {weight:g}" for weight in tv_weights)], energy, strict=True):
    print(f"{name:>14}: high-frequency energy {value:.2e}")

# %%
# NBVAL_CHECK_OUTPUT
print("each larger TV weight lowered the high-frequency energy:", energy[0] > energy[1] > energy[2])

# %% [markdown]
# The high-pass pictures use one gain, so they compare directly, and the energies above
# say by how much the TV term lowered the grain in your run. With too large a weight the
# price of every edge outweighs the style and the content, and the picture blurs: look
# at the houses' edges in the weight-30 picture. The package's own term is
# `Settings.tv_weight` (`--tv-weight` on the command line).
#
# ## 6 · What does training buy?
#
# With the ImageNet weights available, the next cell shows the same texture and transfer
# from the trained and the untrained network side by side. Without them, it says so, and
# the experiment after it runs anywhere.

# %%
untrained = nst.load_vgg19(weights="random") if net.weights.pretrained else net
if net.weights.pretrained:
    from IPython.display import display

    seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=4)
    print(f"trained weights found: 4 more runs (2 reconstructions, a texture, a transfer), about {seconds:.0f} s")
    content_layer = settings.content_layers[0]
    reconstructions = [
        nst.reconstruct(photo, layer=content_layer, settings=settings, net=n, progress=False) for n in (net, untrained)
    ]
    untrained_texture = nst.synthesize_texture(style, settings=settings, net=untrained, progress=False)
    untrained_transfer = nst.transfer(photo, style, settings=settings, net=untrained, progress=False)
    trained_row = [reconstructions[0].image, gram_texture.image, plain.image]
    untrained_row = [reconstructions[1].image, untrained_texture.image, untrained_transfer.image]
    titles = [f"{content_layer} reconstruction", "texture of style A", "transfer, style A"]
    display(
        plotting.show_images(
            [*trained_row, *untrained_row],
            [*(f"{title}: trained" for title in titles), *(f"{title}: untrained" for title in titles)],
            columns=3,
            suptitle=f"Top: trained weights ({net.weights}). Bottom: untrained ({untrained.weights})",
            size=3.0,
        )
    )
else:
    print(f"no trained weights here ({net.weights}): every picture in this lesson is from an untrained network")

# %% [markdown]
# **What is published.** He, Wang & Hopcroft (NIPS 2016) found that a VGG-shaped
# network with random, untrained weights already inverts features, synthesises textures
# and transfers style, once each layer's loss is normalised. Ustyuzhaninov, Brendel,
# Gatys & Bethge (ICLR 2017) went further: a *single* convolutional layer with random
# filters, applied at several scales, synthesises many natural textures well. For
# textures, then, much of the effect comes from the architecture (several scales, a
# non-linearity, statistics summed over positions) rather than from learned filters.
#
# **Why per-layer normalisation matters for an untrained network.** A random network has
# no natural scale: multiply every convolution's weights by 2 and every feature at the
# k-th convolution is multiplied by $2^k$ (ReLU and average pooling pass the factor on).
# The paper's style loss of a layer grows with the fourth power of its features, so the
# *deep* layers would count $2^{52}$ times more than before at relu5_1 (after the 13th
# convolution) and only $2^4$ times more at relu1_1: the weight choice silently decides
# which layers matter. The paper avoided this by rescaling its trained network so each
# filter's mean activation is 1. The package's `"relative"` normalisation divides each
# layer's squared error by its target's sum of squares, so the factor cancels. **Predict** the losses
# of the doubled network under both normalisations, then check:

# %%
# NBVAL_CHECK_OUTPUT
base = untrained  # the untrained network of the cell above (the lesson's own when it has no trained weights)
doubled = copy.deepcopy(base)
with torch.no_grad():
    for module in doubled.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.weight.mul_(2.0)
start_image = torch.rand(style.shape, generator=torch.Generator().manual_seed(1))
for normalization in ("paper", "relative"):
    change = {}
    for name, network in (("base", base), ("doubled", doubled)):
        cfg = nst.Settings(normalization=normalization, style_layers=settings.style_layers)
        terms = nst.build_objective(network, cfg, content=None, style=style)(
            network(start_image, settings.style_layers), start_image
        )
        change[name] = {key.split()[-1]: float(value) for key, value in terms.items()}
    factors = {key: change["doubled"][key] / change["base"][key] for key in change["base"]}
    described = ", ".join(f"{key} x 2^{torch.tensor(f).log2().round().int()}" for key, f in factors.items())
    print(f"{normalization}: doubling the weights multiplies the losses: {described}")

# %% [markdown]
# What that does to a texture: the same synthesis with the paper's normalisation on the
# base and on the doubled network (with `"relative"` the two networks give the same
# texture, the one from part 1).

# %%
seconds = nst.estimate_seconds(net, style, layers=settings.style_layers, steps=settings.steps, runs=2)
print(f"the next cell will take about {seconds:.0f} s (2 textures)")

# %%
paper = dataclasses.replace(settings, normalization="paper")
paper_textures = [nst.synthesize_texture(style, settings=paper, net=n, progress=False) for n in (base, doubled)]
if base is net:
    relative_texture, relative_title = gram_texture, '"relative" (part 1\'s texture)'  # the same network made it
else:
    relative_texture = nst.synthesize_texture(style, settings=settings, net=base, progress=False)
    relative_title = '"relative", base weights'
plotting.show_images(
    [style, relative_texture.image, paper_textures[0].image, paper_textures[1].image],
    [f"style A: {name_a}", relative_title, '"paper", base weights', '"paper", conv weights x 2'],
    suptitle=f"Per-layer vs the paper's normalisation, untrained VGG-19 · weights: {base.weights}",
    size=3.0,
)

# %% [markdown]
# How much of each layer's loss is left at the end, in the paper's normalisation:

# %%
for name, result in zip(("base", "weights x 2"), paper_textures, strict=True):
    left = {key: values[-1] / values[0] for key, values in result.history.items() if key.startswith("style")}
    print(f"{name}: " + ", ".join(f"{key.split()[-1]} {100 * value:.2g}%" for key, value in left.items()))

# %% [markdown]
# Read the lines above layer by layer. With the base weights (He initialisation, chosen
# to keep every layer's activations on one scale) the paper's normalisation can work
# too. With the weights doubled the deepest layer outweighs the others by the factors
# printed earlier: the optimiser spends itself on relu5_1, and the shallow layers that
# hold the colours and the fine grain are left far less matched than with the base
# weights. With per-layer normalisation the weights' scale does not
# matter, which is what makes an untrained network, whose scale is an arbitrary choice,
# usable.
#
# ## Key points
#
# * A Gram matrix sums over positions: it keeps which features occur together and
#   forgets where. Means + covariances are another such statistic; any of them can be
#   plugged into the same loop as an objective.
# * Keep a photo's colours by transferring luminance only, or by giving the painting the
#   photo's colour mean and covariance first; measure it with a chroma difference.
# * Coarse to fine gets the layout cheaply at a small size; `style_scale` sets the size of
#   the painting's strokes in the result.
# * Several styles blend by averaging their Gram matrices with weights.
# * High-frequency artefacts are what the features do not see; a total-variation term
#   prices them.
# * Per-layer normalisation makes the losses independent of each layer's scale, which
#   untrained networks need.
#
# ## Discussion
#
# 1. The shuffle test shuffled positions of one feature map. Shuffling the *pixels* of
#    the image is different: why would the Gram matrices of deeper layers change then?
# 2. Luminance-only transfer loses the painting's colour strokes entirely. For which
#    paintings is colour matching the better choice?
# 3. Why could coarse to fine *change the look* of the result, not only the time?
# 4. A blend with weights 0.5 / 0.5 is not "half of each picture". What is it?
# 5. With ImageNet weights, would you expect the paper's normalisation to weigh the five
#    style layers equally? (Hint: what did the authors do to their network, and why?)
#
# ## Where to go next
#
# Every transfer in this course is an optimisation: hundreds of forward and backward
# passes through VGG-19 for one picture. What came after the paper trades some of its
# freedom for speed:
#
# * **A network trained per style** (Johnson, Alahi & Fei-Fei 2016; Ulyanov et al. 2016)
#   learns to turn any photo into one painting's style in a single forward pass,
#   trained with this course's losses (a content term and Gram-matrix style terms, which
#   Johnson et al. call perceptual losses). Fast at use; one network per style, each
#   trained for hours on tens of thousands of photographs (the COCO images).
# * **Arbitrary style in one pass** (Huang & Belongie 2017, AdaIN): an encoder (the first
#   layers of VGG-19), a layer that gives the photo's features the style's per-channel
#   mean and standard deviation, and a decoder trained to turn such features into an
#   image. That is the diagonal of part 1's mean + covariance loss: the means and
#   variances of the channels, without the correlations between them. Any style, fast;
#   less faithful to the style than optimisation, and it needs a trained decoder.
#
# To try one yourself you need the ImageNet VGG-19 (`nst-course weights download`), a
# large set of photographs to train on (and, for AdaIN, of paintings), a GPU for the
# hours of training, and the losses you wrote in lessons 01 to 03: they are the
# training objective.
