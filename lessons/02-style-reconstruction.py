# %% [markdown]
# # 02 · Style reconstruction: textures from Gram matrices
#
# Lesson 01 matched feature maps position by position, so the layout came back. For
# *style*, Gatys et al. keep only which features occur **together**, wherever they are
# in the image: the correlations between the channels of a layer, the *Gram matrix*
# (Sec. 2.2, after their texture model of 2015). An image that matches these statistics
# has the painting's colours, strokes and patterns, but no longer its layout. Fig. 1
# (bottom rows) shows this for growing sets of layers: conv1_1; conv1_1 and conv2_1;
# ... up to conv5_1. The more layers, the larger the structures that come back.

# %%
import torch

import nst_course as nst
from nst_course import plotting, widgets

settings = nst.lesson_settings(2)
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
# (positions, height x width). The Gram matrix is
#
# $$G^l_{ij} = \sum_k F^l_{ik} F^l_{jk}, \qquad G^l = F^l (F^l)^T,$$
#
# an $N_l \times N_l$ matrix: entry $(i, j)$ is large when channels $i$ and $j$ are
# active at the same places. The sum over positions $k$ forgets *where*. The package
# also divides by $M_l$, the number of positions, so that images of different sizes
# give comparable values (`nst.gram_matrix(features, normalize=False)` gives the sum).
#
# A tiny example: 2 channels on a 1 x 2 grid. Channel 0 is (1, 2), channel 1 is (3, 4).

# %%
# NBVAL_CHECK_OUTPUT
tiny = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # (B, C, H, W) = (1, 2, 1, 2)
print("sum over positions:\n", nst.gram_matrix(tiny, normalize=False))
print("divided by H*W = 2:\n", nst.gram_matrix(tiny))

# %% [markdown]
# $G_{01} = 1 \cdot 3 + 2 \cdot 4 = 11$. The matrix is symmetric, and its size depends
# only on the number of channels: the Gram matrices of the five style layers have the
# same shape for any image size.

# %%
# NBVAL_CHECK_OUTPUT
features = net(style, nst.STYLE_LAYERS)
grams = {name: nst.gram_matrix(value) for name, value in features.items()}
for name, gram in grams.items():
    symmetric = torch.allclose(gram, gram.transpose(1, 2), rtol=1e-4, atol=1e-6)
    print(f"{name}: Gram matrix {tuple(gram.shape)}, symmetric: {symmetric}")

# %% [markdown]
# Drawn as heat maps (the first 64 channels), the Gram matrices of two different images
# differ: they are a fingerprint of the image's statistics, not of its layout.

# %%
town = nst.load_image("town", size=settings.size)
town_gram = nst.gram_matrix(net(town, ["conv2_1"])["conv2_1"])
plotting.plot_gram(grams["conv2_1"], title=f"conv2_1 Gram: style image · weights: {net.weights}")

# %%
plotting.plot_gram(town_gram, title=f"conv2_1 Gram: town photo · weights: {net.weights}")

# %% [markdown]
# ### Exercise: write `gram_matrix`
#
# `features` has shape (B, C, H, W). Return the (B, C, C) Gram matrices, divided by
# H*W. Hint: reshape to (B, C, H*W), then multiply by the transpose of the last two axes
# (`@` multiplies batches of matrices).


# %%
def gram_matrix(features):
    """(B, C, H, W) features -> (B, C, C) channel correlations, divided by H*W."""
    # BEGIN SOLUTION: reshape to (B, C, H*W), multiply by its transpose, divide by H*W
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)
    # END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_gram_matrix(gram_matrix)

# %% [markdown]
# ## The style loss
#
# For one layer, the paper compares the Gram matrices $G^l$ of the image being made
# and $A^l$ of the style image (eq. 4):
# $E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{i,j} (G^l_{ij} - A^l_{ij})^2$, and sums the layers
# with weights $w_l$ (eq. 5): $\mathcal{L}_{style} = \sum_l w_l E_l$. `nst.style_loss`
# does this; by default each layer's error is divided by the size of its target (see
# `nst.losses`), so every layer counts alike, trained network or not.
#
# ## Fig. 1, bottom rows: textures from growing layer sets
#
# `nst.synthesize_texture` starts from white noise and matches only the Gram matrices.
# Five runs follow; first, how long they will take here:

# %%
layer_sets = [nst.STYLE_LAYERS[: i + 1] for i in range(len(nst.STYLE_LAYERS))]
seconds = nst.estimate_seconds(net, style, layers=["conv5_1"], steps=settings.steps, runs=len(layer_sets))
print(f"the next cell will take about {seconds:.0f} s ({len(layer_sets)} runs of {settings.steps} steps)")

# %%
textures = [nst.synthesize_texture(style, layers=layer_set, settings=settings, net=net) for layer_set in layer_sets]
for layer_set, result in zip(layer_sets, textures, strict=True):
    left = 100 * (1 - result.loss_drop)
    print(f"up to {layer_set[-1]}: loss fell to {left:.2g}% of its start in {result.seconds:.0f} s")

# %%
plotting.show_images(
    [style, *(result.image for result in textures)],
    ["style image", *(" + ".join(s) if len(s) < 3 else f"conv1_1 ... {s[-1]}" for s in layer_sets)],
    suptitle=f"Textures from growing sets of layers (Fig. 1, bottom) · weights: {net.weights}",
)

# %% [markdown]
# With conv1_1 alone only colours and the finest grain come back; every added layer
# brings back larger structures, and none of the layouts matches the painting's: the
# Gram matrices do not know where things were.

# %%
# NBVAL_CHECK_OUTPUT
for layer_set, result in zip(layer_sets, textures, strict=True):
    print(f"up to {layer_set[-1]}: the style loss fell by more than 50%: {result.loss_drop > 0.5}")

# %% [markdown]
# ## Choose the layers yourself
#
# Pick any set of layers and press *Run*. Try deep layers alone (conv4_1, conv5_1), or
# relu layers instead of conv layers.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.texture_explorer(style, net, settings=settings)

# %% [markdown]
# **Next:** lesson 03 adds the content loss of lesson 01 to this style loss: the full
# style transfer.
