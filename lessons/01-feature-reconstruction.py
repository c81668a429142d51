# %% [markdown]
# # 01 · Feature reconstruction: what does a layer remember?
#
# To see what a layer of VGG-19 keeps of a photo, Gatys et al. search for an image
# whose feature maps at that layer are the same as the photo's (Sec. 2.1, after Mahendran
# & Vedaldi 2015). Start from white noise and change its pixels by gradient descent until
# the features match. The paper's *content reconstructions* (Fig. 1) do this for the
# layers it calls conv1_2, conv2_2, conv3_2, conv4_2 and conv5_2 (relu1_2 ... relu5_2
# here: the paper's layers are rectified, see [docs/layer-names.md](../docs/layer-names.md)):
# the first three give back the photo almost exactly; the last two keep the layout of
# the scene, but lose the exact pixel values. That is why the paper takes conv4_2 as
# the *content* of an image.
#
# **Questions:** what does a layer remember of a photo? **Objectives:** write the
# paper's content loss; drive a reconstruction with it; compare layers.
# **Time:** about 25 minutes; the cells run in about 1.5 minutes on a 2-core laptop.

# %%
import torch

import nst_course as nst
from nst_course import plotting, widgets

settings = nst.lesson_settings(1, normalization="paper")
net = nst.load_vgg19()
photo = nst.load_image("town", size=settings.size)
print("weights:", net.weights)
print(f"photo: {photo.shape[-2]} x {photo.shape[-1]} px; {settings.steps} L-BFGS steps per reconstruction")

# %% [markdown]
# `town` is a built-in stand-in for the paper's Neckarfront photograph. If the weights
# above say *random*, the network is untrained: the reconstructions below show the
# method, not the paper's pictures. This lesson works at 128 px; the paper at about
# 512 px (set `NST_COURSE_PAPER_SIZE=1` before starting Jupyter to run at 512 px).
#
# ## The content loss
#
# Let $F^l$ be the features of the image being changed and $P^l$ those of the photo,
# both with $N_l$ channels and $M_l$ positions. The paper's content loss, eq. (1), is
#
# $$\mathcal{L}_{content} = \tfrac12 \sum_{i,j} \left(F^l_{ij} - P^l_{ij}\right)^2 .$$
#
# It is zero when the features are equal. Its derivative with respect to a feature is
# $F^l_{ij} - P^l_{ij}$. Eq. (2) of the paper writes the derivative with a case split,
# $F - P$ where $F^l_{ij} > 0$ and $0$ where $F^l_{ij} < 0$: that is the ReLU at work.
# The paper's $F^l$ is the convolution's output *after* the rectifier; where the
# convolution's output was negative, the rectifier set it to zero and passes no
# gradient back. Back-propagation (autograd, here) carries the rest down to the pixels.
#
# ### Exercise 1: the content loss
#
# Write `content_loss(features, target)`.
# - **Inputs:** `features` ($F$) and `target` ($P$), tensors of the same shape
#   (B, C, H, W).
# - **Output:** a tensor holding one number: eq. (1), summed over every element
#   (the batch too).
# - Stay in torch from input to output, so that gradients reach the pixels.


# %%
def content_loss(features, target):
    """The paper's eq. (1) for two (B, C, H, W) tensors: a one-number tensor."""
    # BEGIN SOLUTION: eq. (1) for two (B, C, H, W) tensors, as a one-number tensor
    return 0.5 * (features - target).pow(2).sum()
    # END SOLUTION


# %% [markdown]
# The check compares your function with the package's `nst.content_loss(...,
# normalization="paper")`, values and gradients, on batches of 1 and 2 and non-square
# maps, and names the mistake if they differ.

# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_content_loss(content_loss)

# %% [markdown]
# ## Your loss drives a reconstruction
#
# The package's loop `nst.optimize(net, objective, start, steps=...)` minimises any
# *objective*: a function of `(features, image)` that returns named loss terms and
# carries a `layers` attribute, the layers whose features it needs. Here is one made
# of **your** `content_loss` at one layer (if your function is not written yet, the
# package's takes its place and the run says so):

# %%
my_content_loss = nst.checks.use_or_reference(content_loss)


def reconstruction_objective(layer, image):
    """An objective for nst.optimize: your content loss at `layer`, against `image`'s features."""
    with torch.no_grad():
        target = net(image, [layer])[layer]

    def objective(features, image):
        return {f"content {layer}": my_content_loss(features[layer], target)}

    objective.layers = [layer]
    return objective


noise = torch.rand(photo.shape, generator=torch.Generator().manual_seed(settings.seed))  # the same start as nst's
seconds = nst.estimate_seconds(net, photo, layers=[nst.CONTENT_LAYER], steps=settings.steps, runs=2)
print(f"the next cell will take about {seconds:.0f} s (2 runs of {settings.steps} steps)")

# %% [markdown]
# The next cell reconstructs the photo from the paper's content layer twice: once with
# your objective through `nst.optimize`, once with `nst.reconstruct`, the package's
# own, from the same noise with the same settings.
#
# **Predict.** Both runs start from the same noise and take the same steps. Will the
# two pictures be the same, similar, or different?

# %%
layer = nst.CONTENT_LAYER
yours = nst.optimize(net, reconstruction_objective(layer, photo), noise, steps=settings.steps, progress=False)
ours = nst.reconstruct(photo, layer=layer, settings=settings, net=net, progress=False)
plotting.show_images(
    [photo, yours.image, ours.image],
    ["photo", f"your content loss, {layer}", f"nst.reconstruct, {layer}"],
    suptitle=f"The same reconstruction twice · weights: {net.weights}",
)

# %% [markdown]
# **Answer.** The same picture: your loss has the same value and the same gradient as
# the package's at every step, so L-BFGS takes the same steps. The numbers say so:

# %%
# NBVAL_CHECK_OUTPUT
curve, reference = yours.history["total"], ours.history["total"]
same_curve = all(abs(a - b) <= 0.02 * abs(b) for a, b in zip(curve, reference, strict=True))
print("same loss curve (each step within 2%):", same_curve)
print("same picture (mean pixel difference below 0.01):", float((yours.image - ours.image).abs().mean()) < 0.01)

# %% [markdown]
# ## The paper's content reconstructions: five layers
#
# Your objective again, at five depths. First, how long it will take here:

# %%
layers = ["relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2"]
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=len(layers) - 1)
print(f"the next cell will take about {seconds:.0f} s ({len(layers) - 1} runs of {settings.steps} steps)")

# %% [markdown]
# **Predict.** Which layer's reconstruction will lose the photo's colours first, and
# which will still show where the houses, the river and the sky are?

# %%
results = {}
for name in layers:
    objective = reconstruction_objective(name, photo)
    results[name] = (
        yours if name == layer else nst.optimize(net, objective, noise, steps=settings.steps, progress=False)
    )
for name, result in results.items():
    print(f"{name}: loss fell to {100 * (1 - result.loss_drop):.2g}% of its start in {result.seconds:.0f} s")

# %%
plotting.show_images(
    [photo, *(result.image for result in results.values())],
    ["photo", *(f"from {name}" for name in results)],
    suptitle=f"Content reconstructions (Fig. 1), your content loss · weights: {net.weights}",
)

# %% [markdown]
# **Answer.** First the numbers, from your run: how far each reconstruction ended from
# the photo, pixel by pixel (0 is the photo itself, about 0.3 is unrelated noise).

# %%
errors = {name: float((result.image - photo).abs().mean()) for name, result in results.items()}
for name, error in errors.items():
    print(f"{name}: mean absolute pixel difference {error:.3f}")
print("from closest to farthest:", ", ".join(sorted(errors, key=errors.get)))

# %% [markdown]
# The architecture explains part of the picture on any weights: many different images
# give the same deep features, since a deep layer holds fewer numbers per pixel of the
# image (relu5_2 at 128 px: 512 maps on 8 x 5 positions; at the paper's 512 px, 32 x 22),
# so the optimiser is free to leave the pixels wherever they do not change those
# features. What the deep reconstructions keep depends on the weights:

# %%
nst.for_network(
    net,
    trained="the paper reports (Fig. 1, content reconstructions a-e, 512 px) that conv1_2, conv2_2 "
    "and conv3_2 give the photo back almost exactly, while conv4_2 and conv5_2 keep the high-level "
    "layout, the houses and the river, and lose the exact pixel values. At 128 px the deep layers "
    "have 16 times fewer positions than the paper's, so expect less of the layout than in its figure.",
    untrained="with the lesson's settings (128 px, 100 steps) relu1_2 and relu2_2 give the photo back, "
    "colours included; from relu3_2 on the houses, the river and the sky stay in place under "
    "high-frequency coloured noise; relu4_2 keeps the outlines of the houses and relu5_2 only a faint "
    "trace of the layout. That is the architecture at work on random filters; the paper's Fig. 1 "
    "shows what the trained network keeps.",
)

# %% [markdown]
# Whatever the weights and sizes, each optimisation must at least lower its loss:

# %%
# NBVAL_CHECK_OUTPUT
for name, result in results.items():
    print(f"{name}: the content loss fell by more than 50%: {result.loss_drop > 0.5}")

# %% [markdown]
# ## Try another layer
#
# Choose a layer and press *Run*: the image updates while the optimiser works. Try a
# conv layer next to its relu (conv3_2 and relu3_2), or pool4.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.reconstruction_explorer(photo, net, settings=settings)

# %% [markdown]
# ## Key points
#
# - The content loss is half the summed squared difference of two feature tensors,
#   eq. (1); its gradient is $F - P$, cut to zero by the ReLU where the feature was
#   negative (eq. 2).
# - Any function of the features with a `layers` attribute is an objective the loop can
#   minimise: yours gave the same reconstruction as the package's.
# - Shallow layers keep the pixels; deep layers keep the layout. That is why content is
#   read at relu4_2 (the paper's conv4_2).
#
# **Next:** lesson 02 throws the layout away on purpose and keeps only which features
# occur together: the *style*.
