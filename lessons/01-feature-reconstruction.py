# %% [markdown]
# # 01 · Feature reconstruction: what does a layer remember?
#
# To see what a layer of VGG-19 keeps of a photo, Gatys et al. search for an image
# whose feature maps at that layer are the same as the photo's (Sec. 2.1, after Mahendran
# & Vedaldi 2015). Start from white noise and change its pixels by gradient descent until
# the features match. Fig. 1 (top row) does this for conv1_2, conv2_2, conv3_2, conv4_2
# and conv5_2: the first three give back the photo almost exactly; conv4_2 and conv5_2
# keep the layout of the scene, but lose the exact pixel values. That is why the paper
# takes conv4_2 as the *content* of an image.

# %%
import torch

import nst_course as nst
from nst_course import plotting, widgets

settings = nst.lesson_settings(1)
net = nst.load_vgg19()
photo = nst.load_image("town", size=settings.size)
print("weights:", net.weights)
print(f"photo: {photo.shape[-2]} x {photo.shape[-1]} px; {settings.steps} L-BFGS steps per reconstruction")

# %% [markdown]
# `town` is a built-in stand-in for the paper's Neckarfront photograph. If the weights
# above say *random*, the network is untrained: the reconstructions below show the
# method, not the paper's pictures.
#
# ## The content loss
#
# Let $F^l$ be the features of the image being changed and $P^l$ those of the photo,
# both with $N_l$ channels and $M_l$ positions. The paper's content loss, eq. (1), is
#
# $$\mathcal{L}_{content} = \tfrac12 \sum_{i,j} \left(F^l_{ij} - P^l_{ij}\right)^2 .$$
#
# It is zero when the features are equal. Its derivative with respect to $F^l$ is simply
# $F^l - P^l$ (eq. 2, where the paper's features are positive); back-propagation carries
# it down to the pixels.
#
# ### Exercise: write the content loss
#
# `features` and `target` are tensors of shape (B, C, H, W). Return eq. (1) as a
# tensor with a single value. Keep it in torch (no `.item()`), so gradients flow.


# %%
def content_loss(features, target):
    """The paper's eq. (1): half the summed squared difference of two feature tensors."""
    # BEGIN SOLUTION: return 1/2 * the sum of (features - target) squared
    return 0.5 * (features - target).pow(2).sum()
    # END SOLUTION


# %% [markdown]
# Run the check. It compares your function with `nst.content_loss(..., normalization="paper")`
# on small random tensors and gives a hint if they differ.

# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_content_loss(content_loss)

# %% [markdown]
# The package's `nst.content_loss` divides by the target's squared size instead of
# halving (`normalization="relative"`, the default): every layer's loss then starts near
# 1, whatever the scale of its features. That changes the loss's size, not where its
# minimum is. Three values that hold for any image:

# %%
# NBVAL_CHECK_OUTPUT
target = net(photo, ["conv4_2"])["conv4_2"]
print("loss of the photo's own features:", float(nst.content_loss(target, target)))
print("loss of all-zero features (relative):", round(float(nst.content_loss(0 * target, target)), 6))
ones, zeros = torch.ones(1, 1, 2, 3), torch.zeros(1, 1, 2, 3)
print("eq. (1) for F = 1, P = 0 on 6 values:", float(nst.content_loss(ones, zeros, normalization="paper")))

# %% [markdown]
# ## Fig. 1, top row: reconstructions from five layers
#
# `nst.reconstruct` starts from white noise and runs the optimiser (L-BFGS, as in the
# paper) on the content loss at one layer. The next cell makes five of them, so first
# an estimate of how long it will take on this machine:

# %%
layers = ["conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"]
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=len(layers))
print(f"the next cell will take about {seconds:.0f} s ({len(layers)} runs of {settings.steps} steps)")

# %%
results = {layer: nst.reconstruct(photo, layer=layer, settings=settings, net=net) for layer in layers}
for layer, result in results.items():
    print(f"{layer}: loss fell to {100 * (1 - result.loss_drop):.2g}% of its start in {result.seconds:.0f} s")

# %%
plotting.show_images(
    [photo, *(result.image for result in results.values())],
    ["photo", *(f"from {layer}" for layer in results)],
    suptitle=f"Reconstructions from one layer each (Fig. 1, top row) · weights: {net.weights}",
)

# %% [markdown]
# Shallow layers give the photo back; the deeper the layer, the more the reconstruction
# drifts in colour and fine detail while the houses, the river and the skyline stay in
# place. How far is each reconstruction from the photo, pixel by pixel?

# %%
errors = {layer: float((result.image - photo).abs().mean()) for layer, result in results.items()}
for layer, error in errors.items():
    print(f"{layer}: mean absolute pixel difference {error:.3f}")

# %% [markdown]
# Whatever the weights and sizes, each optimisation must at least lower its loss:

# %%
# NBVAL_CHECK_OUTPUT
for layer, result in results.items():
    print(f"{layer}: the content loss fell by more than 50%: {result.loss_drop > 0.5}")

# %% [markdown]
# ## Try another layer
#
# Choose a layer and press *Run*: the image updates while the optimiser works. Try
# the relu layers (after the non-linearity), or pool4, and compare with the row above.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.reconstruction_explorer(photo, net, settings=settings)

# %% [markdown]
# **Next:** lesson 02 throws the layout away on purpose and keeps only which features
# occur together: the *style*.
