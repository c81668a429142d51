# %% [markdown]
# # 02 · Style reconstruction: textures from Gram matrices
#
# Lesson 01 matched feature maps position by position, so the layout came back. For
# *style*, Gatys et al. keep only which features occur **together**, wherever they are
# in the image: the correlations between the channels of a layer, the *Gram matrix*
# (Sec. 2.2, after their texture model of 2015). An image that matches these statistics
# has the painting's colours, strokes and patterns, but no longer its layout. The
# paper's *style reconstructions* (Fig. 1) do this for growing sets of layers: conv1_1;
# conv1_1 and conv2_1; ... up to conv5_1 (relu1_1 ... relu5_1 here, see
# [docs/layer-names.md](../docs/layer-names.md)). The more layers, the larger the
# structures that come back.
#
# **Questions:** what is left of an image when the layout is thrown away?
# **Objectives:** write the Gram matrix and the paper's layer style loss $E_l$; drive a
# texture synthesis with them; see what the rectifier changes. **Time:** about 30 minutes;
# the cells run in about 3 minutes on a 2-core laptop.

# %%
import torch

import nst_course as nst
from nst_course import plotting, widgets

settings = nst.lesson_settings(2, normalization="paper")
net = nst.load_vgg19()
style, style_caption = nst.load_painting("starry_night", size=settings.size)
print("weights:", net.weights)
print("style image:", style_caption)
print(f"size: {style.shape[-2]} x {style.shape[-1]} px; {settings.steps} L-BFGS steps per texture")

# %% [markdown]
# If the weights say *random*, the network is untrained: the textures below show the
# method, not the paper's pictures. Without a network, The Starry Night is replaced by
# a built-in painting (the caption above says which).
#
# ## The Gram matrix
#
# Write a layer's features as a matrix $F^l$ of $N_l$ rows (channels) by $M_l$ columns
# (positions, height x width). The paper's Gram matrix, eq. (3), is
#
# $$G^l_{ij} = \sum_k F^l_{ik} F^l_{jk}, \qquad G^l = F^l (F^l)^T,$$
#
# an $N_l \times N_l$ matrix: entry $(i, j)$ is large when channels $i$ and $j$ are
# active at the same places. The sum over positions $k$ forgets *where*. This course
# also divides by $M_l$, the number of positions, so that images of different sizes
# give comparable values; the style loss below takes that into account.
#
# ### Exercise 1: the Gram matrix
#
# Write `gram_matrix(features)`.
# - **Input:** `features`, a tensor of shape (B, C, H, W): B images, C channels on an
#   H x W grid.
# - **Output:** a tensor of shape (B, C, C): for each image $b$,
#   $G_{ij} = \frac{1}{M} \sum_k F_{ik} F_{jk}$, with $k$ running over the $M = H W$
#   positions.


# %%
def gram_matrix(features):
    """(B, C, H, W) features -> (B, C, C) channel correlations, divided by M = H*W."""
    # BEGIN SOLUTION: (B, C, H, W) -> (B, C, C), G_ij = 1/M sum_k F_ik F_jk for each image
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)
    # END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_gram_matrix(gram_matrix)

# %% [markdown]
# From here on, the lesson uses **your** `gram_matrix` (the package's, with a note, while
# yours is not written). The Gram matrices of the five style layers are symmetric, and
# their size depends only on the number of channels, not on the image's size:

# %%
# NBVAL_CHECK_OUTPUT
my_gram = nst.checks.use_or_reference(gram_matrix)
features = net(style, nst.STYLE_LAYERS)
grams = {name: my_gram(value) for name, value in features.items()}
for name, gram in grams.items():
    symmetric = torch.allclose(gram, gram.transpose(1, 2), rtol=1e-4, atol=1e-6)
    print(f"{name}: Gram matrix {tuple(gram.shape)}, symmetric: {symmetric}")

# %% [markdown]
# Drawn as heat maps (the first 64 channels), the Gram matrices of two different images
# differ: they are a fingerprint of the image's statistics, not of its layout.

# %%
town = nst.load_image("town", size=settings.size)
town_gram = my_gram(net(town, ["relu2_1"])["relu2_1"])
plotting.plot_gram(grams["relu2_1"], title=f"relu2_1 Gram: style image · weights: {net.weights}")

# %%
plotting.plot_gram(town_gram, title=f"relu2_1 Gram: town photo · weights: {net.weights}")

# %% [markdown]
# ## The style loss of one layer
#
# The paper compares the Gram matrices $G^l$ of the image being made and $A^l$ of the
# style image, eq. (4), with Gram matrices that are **sums** over positions:
#
# $$E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{i,j} \left(G^l_{ij} - A^l_{ij}\right)^2 .$$
#
# Your Gram matrix is already divided by $M_l$: call it $\hat G = G / M_l$ (and
# $\hat A = A / M_l$). Then $(G - A)^2 = M_l^2 (\hat G - \hat A)^2$, and the $M_l^2$
# cancels:
#
# $$E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{i,j} M_l^2 \left(\hat G_{ij} - \hat A_{ij}\right)^2
#       = \frac{1}{4 N_l^2} \sum_{i,j} \left(\hat G_{ij} - \hat A_{ij}\right)^2 .$$
#
# The factor is $1/(4N_l^2)$ for your Gram matrices and $1/(4N_l^2M_l^2)$ for the
# paper's: combine the paper's factor with a Gram already divided by $M_l$ and the
# loss comes out $M_l^2$ times too small (at relu1_1 of a 128 x 88 image, about
# $10^8$ times). The total style loss, eq. (5), weights the layers:
# $\mathcal{L}_{style} = \sum_l w_l E_l$ with $w_l = 1/5$ for the paper's five layers.
#
# ### Exercise 2: the style loss of one layer
#
# Write `layer_style_loss(features, target_gram)`.
# - **Inputs:** `features` (B, C, H, W) of the image being made at one layer, and
#   `target_gram` (B, C, C), the style image's Gram matrix at that layer (made with
#   your `gram_matrix`, so already divided by M).
# - **Output:** a one-number tensor, $E_l$ of eq. (4) written for Gram matrices divided
#   by $M$ (above), summed over the batch; $N$ is the number of channels.
# - Use your `gram_matrix` for the features' Gram matrix.


# %%
def layer_style_loss(features, target_gram):
    """The paper's E_l, eq. (4), for a target Gram matrix already divided by M."""
    # BEGIN SOLUTION: E_l of eq. (4) for Gram matrices divided by M, as a one-number tensor
    channels = features.shape[1]
    return (my_gram(features) - target_gram).pow(2).sum() / (4 * channels**2)
    # END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_style_loss(layer_style_loss)

# %% [markdown]
# ## Your style loss drives a texture synthesis
#
# As in lesson 01, an objective for `nst.optimize`: here $\sum_l w_l E_l$ over a set of
# layers, made of your `layer_style_loss` and your `gram_matrix`, starting from white
# noise. First, one run with your objective next to `nst.synthesize_texture`, the
# package's, on all five layers and from the same noise:

# %%
my_style_loss = nst.checks.use_or_reference(layer_style_loss)


def texture_objective(layers, image):
    """An objective for nst.optimize: sum_l E_l / L over `layers`, against `image`'s Gram matrices."""
    with torch.no_grad():
        targets = {name: my_gram(value) for name, value in net(image, layers).items()}

    def objective(features, image):
        return {f"style {name}": my_style_loss(features[name], targets[name]) / len(layers) for name in layers}

    objective.layers = list(layers)
    return objective


noise = torch.rand(style.shape, generator=torch.Generator().manual_seed(settings.seed))  # the same start as nst's
seconds = nst.estimate_seconds(net, style, layers=nst.STYLE_LAYERS, steps=settings.steps, runs=2)
print(f"the next cell will take about {seconds:.0f} s (2 runs of {settings.steps} steps)")

# %%
every_layer = list(nst.STYLE_LAYERS)
yours = nst.optimize(net, texture_objective(every_layer, style), noise, steps=settings.steps, progress=False)
ours = nst.synthesize_texture(style, layers=every_layer, settings=settings, net=net, progress=False)
plotting.show_images(
    [style, yours.image, ours.image],
    ["style image", "your style loss", "nst.synthesize_texture"],
    suptitle=f"The same texture twice, relu1_1 ... relu5_1 · weights: {net.weights}",
)

# %% [markdown]
# The package multiplies the style term by $\beta$ (`settings.beta`); the loop divides
# every loss by its first value before the optimiser sees it, so a constant factor
# changes nothing: compare the curves relative to their start.
#
# Do not expect them to agree to the last digit. Your functions add and multiply in
# another order than the package's, float32 rounds a little differently, and each
# L-BFGS step builds on the one before: from the same noise, the tiny differences grow.
# On the course's test machine (128 px, 100 steps) the curves parted by more than 2%
# after 15 steps, and by up to 28% mid-run, then ended 0.9% apart; the two textures ended
# 0.016 apart (mean absolute pixel difference), while each moved 0.27 from the noise. So
# the check asks for the same end, not the same path.

# %%
# NBVAL_CHECK_OUTPUT
curve = [v / yours.history["total"][0] for v in yours.history["total"]]
reference = [v / ours.history["total"][0] for v in ours.history["total"]]
moved = float((ours.image - noise).abs().mean())
apart = float((yours.image - ours.image).abs().mean())
print("same final loss, relative to the start (within 3%):", abs(curve[-1] - reference[-1]) <= 0.03 * reference[-1])
print("the same texture (apart by under a tenth of how far it moved from the noise):", apart < moved / 10)

# %% [markdown]
# ## The paper's style reconstructions: growing layer sets
#
# Four more runs with your objective (the fifth, all five layers, is the one above):

# %%
layer_sets = [every_layer[: i + 1] for i in range(len(every_layer))]
seconds = nst.estimate_seconds(net, style, layers=every_layer[-2:], steps=settings.steps, runs=len(layer_sets) - 1)
print(f"the next cell will take about {seconds:.0f} s ({len(layer_sets) - 1} runs of {settings.steps} steps)")

# %% [markdown]
# **Predict.** From relu1_1 alone, what of the painting will come back: its colours, its
# brush strokes, its swirls, its layout? What will each added layer bring?

# %%
textures = []
for layer_set in layer_sets:
    objective = texture_objective(layer_set, style)
    is_all = layer_set == every_layer
    textures.append(yours if is_all else nst.optimize(net, objective, noise, steps=settings.steps, progress=False))
for layer_set, result in zip(layer_sets, textures, strict=True):
    left = 100 * (1 - result.loss_drop)
    print(f"up to {layer_set[-1]}: loss fell to {left:.2g}% of its start in {result.seconds:.0f} s")

# %%
plotting.show_images(
    [style, *(result.image for result in textures)],
    ["style image", *(" + ".join(s) if len(s) < 3 else f"relu1_1 ... {s[-1]}" for s in layer_sets)],
    suptitle=f"Style reconstructions (Fig. 1), your style loss · weights: {net.weights}",
)

# %% [markdown]
# **Answer.** Two things hold on any weights. None of the layouts matches the painting's:
# a Gram matrix sums over positions, so it does not know where anything was. And each
# added layer looks at larger regions (24 px across at relu3_1, 156 px at relu5_1), so it
# can ask for larger structures; at 128 px relu5_1 sees the image on an 8 x 5 grid, so
# it has little left to add. What the structures are depends on the weights:

# %%
nst.for_network(
    net,
    trained="the paper reports (Fig. 1, style reconstructions a-e) that the style of the lowest "
    "layer alone is a fine texture of the painting's colours, and that with more layers the "
    "matched structures grow in size and complexity, the swirls of the Starry Night coming back "
    "while the arrangement of the scene is lost. Compare the row above with that.",
    untrained="with the lesson's settings (128 px, 100 steps) relu1_1 alone brings back the "
    "painting's colours in small patches spread over the image; each added layer makes the patches "
    "larger and smoother. The strokes and swirls of the paper's Fig. 1 do not come back: random "
    "filters match colours and blobs, not brush strokes.",
)

# %%
# NBVAL_CHECK_OUTPUT
for layer_set, result in zip(layer_sets, textures, strict=True):
    print(f"up to {layer_set[-1]}: the style loss fell by more than 50%: {result.loss_drop > 0.5}")

# %% [markdown]
# ## Before or after the rectifier?
#
# The paper's layers are rectified (relu here). Most PyTorch code, the official tutorial
# among it, attaches its losses to torchvision's `Conv2d` modules instead: in torchvision
# the ReLU is a separate module, and the paper's text says "conv". Caffe, which the paper
# used, rectifies in place, so its "conv4_2" holds the rectified values. Here are both
# side by side: a reconstruction from conv4_2 and from relu4_2, and a texture from
# conv1_1 ... conv5_1 next to the relu texture above.
#
# **Predict.** The conv features can be negative; the relu features cannot. Which will
# the conv reconstruction and texture differ in: layout, colours, or contrast?

# %%
photo = nst.load_image("town", size=settings.size)
conv_layers = [name.replace("relu", "conv") for name in every_layer]
seconds = nst.estimate_seconds(net, photo, layers=["relu4_2"], steps=settings.steps, runs=3)
print(f"the next cell will take about {seconds:.0f} s (3 runs of {settings.steps} steps)")
from_conv = nst.reconstruct(photo, layer="conv4_2", settings=settings, net=net, progress=False)
from_relu = nst.reconstruct(photo, layer="relu4_2", settings=settings, net=net, progress=False)
texture_conv = nst.synthesize_texture(style, layers=conv_layers, settings=settings, net=net, progress=False)

# %%
plotting.show_images(
    [photo, from_conv.image, from_relu.image, style, texture_conv.image, ours.image],
    ["photo", "reconstruction: conv4_2", "reconstruction: relu4_2", "style", "texture: conv", "texture: relu"],
    columns=3,
    suptitle=f"Before (conv) or after (relu) the rectifier · weights: {net.weights}",
)

# %% [markdown]
# **Answer.** What differs on any weights is *what* is matched: conv features keep their
# negative responses, so the conv loss also asks the image to reproduce where a filter
# responds negatively, which relu4_2 ignores, and the conv Gram matrices correlate
# negative responses too. How far apart the pictures end, from your run (mean absolute
# pixel difference):

# %%
print(f"reconstructions, conv4_2 against relu4_2: {float((from_conv.image - from_relu.image).abs().mean()):.3f}")
print(f"textures, conv against relu:             {float((texture_conv.image - ours.image).abs().mean()):.3f}")
nst.for_network(
    net,
    trained="the paper only uses the rectified layers, so it has no figure to compare with; whether "
    "the two sides differ much on the trained network is for you to read off the pictures above.",
    untrained="with the lesson's settings the two sides look almost alike: the same layout and noise "
    "in the reconstructions, the same colours and patches in the textures, the conv texture a little "
    "grainier. On trained weights the difference can be larger: run this cell with "
    "NST_COURSE_WEIGHTS=imagenet to see.",
)

# %% [markdown]
# Either way, only relu is the paper's method, and weights tuned on one side do not
# carry over. All three runs lowered their loss:

# %%
# NBVAL_CHECK_OUTPUT
for label, result in [("conv4_2", from_conv), ("relu4_2", from_relu), ("conv texture", texture_conv)]:
    print(f"{label}: the loss fell by more than 50%: {result.loss_drop > 0.5}")

# %% [markdown]
# ## Choose the layers yourself
#
# Pick any set of layers and press *Run*. Try deep layers alone (relu4_1, relu5_1), or
# the conv layers instead of the relu layers.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.texture_explorer(style, net, settings=settings)

# %% [markdown]
# ## Key points
#
# - A Gram matrix $F F^T$ keeps which channels fire together and forgets where.
# - $E_l = \frac{1}{4N^2M^2}\sum(G-A)^2$ on summed Gram matrices is
#   $\frac{1}{4N^2}\sum(\hat G-\hat A)^2$ on Gram matrices divided by $M$: mixing the two
#   is off by $M^2$.
# - Growing layer sets bring back growing structures; the layout is lost.
# - The paper's layers are rectified (relu); pre-ReLU (conv) features give a different,
#   non-paper method.
#
# **Next:** lesson 03 adds the content loss of lesson 01 to this style loss, writes the
# total loss and the optimisation loop, and runs the full style transfer with them.
