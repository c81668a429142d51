# %% [markdown]
# # 06 · What a channel looks for (optional)
#
# Lessons 01 to 03 changed the pixels of an image until the network's features matched a
# photo's or a painting's. Keep the loop and change the objective: make **one channel**
# of one layer respond as strongly as it can, starting from noise. The image that comes
# out is a picture of what that channel looks for. This is *feature visualisation*
# (Erhan et al. 2009; Olah, Mordvintsev & Schubert, "Feature Visualization", Distill 2017).
# The other half of the answer is to search real images for the places where the
# channel responds most (Zeiler & Fergus 2014). Take this lesson after lesson 02.
#
# **Questions:** what does one channel of VGG-19 respond to, and why does plain pixel
# optimisation not show it? **Objectives:** write the objective for one channel; run it
# through the course's loop; read a layer's atlas; measure what the random moves change.
# **Time:** about 25 minutes; the cells run in under a minute on a 2-core laptop.

# %%
import torch
from IPython.display import display

import nst_course as nst
from nst_course import widgets
from nst_course.course.atlases import atlas_seconds
from nst_course.engine.featurevis import VisSettings, fourier_image, visualise

settings = nst.lesson_settings(6)
vis = VisSettings(size=settings.size, steps=settings.steps, seed=settings.seed)
net = nst.load_vgg19()
print("weights:", net.weights)
print(f"size: {vis.size} x {vis.size} px; {vis.steps} Adam steps per visualisation")

# %% [markdown]
# ## The objective for one channel
#
# The loop (`nst.optimize`) **minimises** the sum of the terms an objective returns, and
# computes the layers listed in the objective's `layers` attribute (lesson 01). A channel
# responds strongly when its mean activation over the image is large, so the loss to
# minimise is **minus** that mean.
#
# ### Exercise: the objective for one channel
#
# Write `channel_objective(layer, channel)`.
# - **Inputs:** a layer name such as `"relu3_1"` and a channel number.
# - **Output:** an objective: a function `objective(features, image)` that returns a
#   dict `{name: loss}`, where `features[layer]` has shape (B, C, H, W) and the loss is
#   minus the mean of channel `channel` over the batch and all positions; the function
#   carries `objective.layers = [layer]`.


# %%
def channel_objective(layer, channel):
    """An objective for nst.optimize: minus the mean activation of one channel of one layer."""

    # BEGIN SOLUTION: return objective(features, image) -> {name: minus the channel's mean}, with .layers
    def objective(features, image):
        return {f"{layer} channel {channel}": -features[layer][:, channel].mean()}

    objective.layers = [layer]
    return objective
    # END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_channel_objective(channel_objective)

# %% [markdown]
# ## Your objective through the loop
#
# The next cell runs your objective through `nst.optimize` with two of the helps that
# the Distill article measures (both are explained further down): the image is stored as
# its Fourier spectrum (`image_of`, the parametrisation), and the network sees it
# randomly moved at every step (`Moved` below). Next to it, the package's
# `visualise` makes the same channel's picture from the same start and seed.
#
# **Predict.** Both runs start from the same spectrum and make the same random moves.
# Will the two pictures be the same, similar, or different?

# %%
layer, channel = "relu3_1", 7
mine = channel_objective if passed else nst.checks.channel.reference_channel_objective
if not passed:
    print("note: your channel_objective did not pass its check, so the package's is used in its place")


class Moved:
    """The network, looking at each image randomly shifted, scaled and rotated (fresh every step)."""

    def __init__(self, net, moves, seed):
        self.net, self.moves = net, moves
        self.generator = torch.Generator().manual_seed(seed)
        self.device = net.device

    def describe(self):
        return self.net.describe()

    def __call__(self, image, layers):
        return self.net(self.moves(image, self.generator), layers)


start = 0.01 * torch.randn(1, 3, vis.size, vis.size // 2 + 1, 2, generator=torch.Generator().manual_seed(vis.seed))
print(f"the next cell will take about {atlas_seconds(net, layer, 2, vis):.0f} s (2 runs of {vis.steps} steps)")

# %%
yours = nst.optimize(
    Moved(net, vis.transforms, vis.seed),
    mine(layer, channel),
    start,
    steps=vis.steps,
    optimizer="adam",
    learning_rate=vis.learning_rate,
    image_of=lambda spectrum: fourier_image(spectrum, (vis.size, vis.size)),
    progress=False,
)
package = visualise(net, layer, [channel], settings=vis, progress=False)
nst.plotting.show_images(
    [yours.image, package.image],
    ["your objective", "nst visualise"],
    suptitle=f"{layer} channel {channel} · weights: {net.weights}",
)

# %% [markdown]
# **Answer**, from your run: the largest difference between the two pictures, per pixel
# (0 to 1), and how far each run raised the channel's mean activation.

# %%
print(f"largest pixel difference: {float((yours.image - package.image).abs().max()):.2g}")
for name, result in [("yours", yours), ("package", package)]:
    total = result.history["total"]
    print(f"{name}: minus the mean activation went from {total[0]:.3g} to {result.best_loss:.3g}")

# %% [markdown]
# What such a picture can show depends on the weights:

# %%
nst.for_network(
    net,
    trained="the literature reports what trained VGG-like channels respond to: edges and colours in the "
    "first layers, textures and repeated patterns in the middle ones, parts of objects in the deepest "
    "(Zeiler & Fergus 2014, Fig. 2; Olah, Mordvintsev & Schubert, Distill 2017). relu3_1 is a middle layer.",
    untrained="every filter of this network is random, so each channel is a random filter: its picture "
    "shows what a random combination of random filters responds to, not a feature learnt from "
    "photographs. What trained channels show (edges and colours early, textures in the middle, parts "
    "of objects late) is what the literature reports (Zeiler & Fergus 2014; Olah, Mordvintsev & "
    "Schubert, Distill 2017), not something this run can show.",
)

# %% [markdown]
# ## A layer's atlas
#
# `nst.atlas(layer, channels=...)` does the same for several channels at once (one batch)
# and puts beside each picture the patches of the built-in sample images where that
# channel responds most, each cut at the layer's receptive field. The title gives the
# receptive field and the layer's grid. `nst-course atlas relu2_1 -o atlas.png` draws the
# same page from a terminal.
#
# **Predict.** relu2_1 sees 10 x 10 pixels per position (lesson 00's table). Will its
# top patches be larger or smaller than relu3_1's, and will the patches of one channel
# look alike?

# %%
atlas_layer, atlas_channels = "relu2_1", list(range(8))
print(f"the next cell will take about {atlas_seconds(net, atlas_layer, len(atlas_channels), vis):.0f} s")

# %%
page = nst.atlas(atlas_layer, atlas_channels, net=net, settings=vis, progress=False)
display(page)

# %% [markdown]
# **Answer**, from the layer table: the receptive fields of the two layers, in input pixels.

# %%
# NBVAL_CHECK_OUTPUT
fields = {row["layer"]: row["receptive_field"] for row in nst.describe_layers()}
for name in (atlas_layer, layer):
    print(f"{name}: one position sees {fields[name]} x {fields[name]} input pixels")

# %%
nst.for_network(
    net,
    trained="whether one channel's patches look alike is for you to judge on this page; the literature "
    "reports that in trained networks they often share a colour or an edge direction at the second "
    "block (Zeiler & Fergus 2014, Fig. 2, layer 2).",
    untrained="each channel of this network is a random filter, so its top patches share only what that "
    "random filter picks out; what they share on this page is for you to read from it, not a finding.",
)

# %% [markdown]
# ## What the random moves change
#
# The runs above moved the image a little at every step before the network saw it. Here
# the same four channels are made twice, with and without those moves. A number tells
# the two apart: the **high-frequency share**, the part of an image's spectral power (its
# mean colour taken away) above a quarter of a cycle per pixel, where stripes are less
# than 4 pixels apart.
#
# **Predict.** For the same four channels, will the pictures made without random moves
# have a larger or a smaller high-frequency share than those made with them?


# %%
def high_frequency_share(images, cut=0.25):
    """Per image of (B, 3, H, W): the share of its spectral power above ``cut`` cycles per pixel."""
    centred = images - images.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.rfft2(centred).abs().pow(2)
    fy = torch.fft.fftfreq(images.shape[-2]).view(-1, 1)
    fx = torch.fft.rfftfreq(images.shape[-1]).view(1, -1)
    high = (fy.pow(2) + fx.pow(2)).sqrt() > cut
    return (power * high).sum(dim=(-3, -2, -1)) / power.sum(dim=(-3, -2, -1))


test_channels = [0, 1, 2, 3]
print(f"the next cell will take about {atlas_seconds(net, layer, 2 * len(test_channels), vis):.0f} s")

# %%
moved = visualise(net, layer, test_channels, settings=vis, progress=False)
still = visualise(net, layer, test_channels, settings=vis, progress=False, jitter=0, scale=0, rotate=0)
nst.plotting.show_images(
    [*moved.image.split(1), *still.image.split(1)],
    [*(f"ch {c}, moved" for c in test_channels), *(f"ch {c}, still" for c in test_channels)],
    columns=len(test_channels),
    suptitle=f"{layer}, with and without random moves · weights: {net.weights}",
)

# %% [markdown]
# **Answer**, from your run:

# %%
with_moves, without = high_frequency_share(moved.image), high_frequency_share(still.image)
for c, a, b in zip(test_channels, with_moves, without, strict=True):
    print(f"channel {c}: high-frequency share {float(a):.2f} with random moves, {float(b):.2f} without")
more = int((without > with_moves).sum())
print(f"without random moves the share is larger for {more} of {len(test_channels)} channels")

# %% [markdown]
# Olah, Mordvintsev & Schubert (Distill 2017, "The Enemy of Feature Visualization")
# explain what the numbers measure: without help, the optimiser finds fine,
# high-frequency patterns that a strided, pooled network happens to respond to and that
# no photograph contains; moving the image at every step keeps only patterns that excite
# the channel wherever they fall. The lines above say whether your run agrees.
#
# The second help, the Fourier parametrisation, scales the optimiser's steps by 1/frequency
# so that equal steps in every direction give images with the spectrum of natural ones
# rather than white noise; switch it off with `fourier=False` and measure the share again.
#
# ## Try another layer and channel
#
# Choose a layer and a channel and press *Run*: the picture updates while the optimiser
# works (*Stop* keeps the best so far); beside it is the channel's map on the photo, and
# after the run its top patches.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.channel_explorer(net, settings=vis)

# %% [markdown]
# ## Key points
#
# - What a channel looks for is one more objective for the same loop: minus the
#   channel's mean activation, minimised from noise.
# - Random moves and a Fourier parametrisation keep the pictures free of the fine
#   patterns no photograph contains (Olah et al., Distill 2017); the high-frequency share
#   measures what the moves changed on your network.
# - Top patches answer the same question from real images, at the layer's receptive field.
# - What the trained VGG-19's channels respond to is reported in the literature (Zeiler &
#   Fergus 2014; Olah et al. 2017); an untrained network's channels are random filters.
