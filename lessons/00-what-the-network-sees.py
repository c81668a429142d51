# %% [markdown]
# # 00 · What the network sees
#
# Gatys, Ecker and Bethge (CVPR 2016) never train a network of their own. They take
# **VGG-19**, a network trained to name objects in photographs, keep its 16 convolutional
# and 5 pooling layers (Sec. 2), and read an image's *content* and *style* off its
# activations. This lesson looks at those layers: how many channels each has, how
# coarse its grid is, how much of the image one of its values can see, and what its
# feature maps look like.

# %%
import nst_course as nst
from nst_course import plotting, widgets

settings = nst.lesson_settings(0)
net = nst.load_vgg19()
print("weights:", net.weights)
print("pooling:", net.pooling)
print("image size (longest side):", settings.size, "px", "(quick mode)" if nst.quick_mode() else "")

# %% [markdown]
# **Which weights?** `net.weights` says. With `imagenet` this is the trained network of
# the paper. With `random (untrained ...)` every filter is random: the lessons still
# run and still show the ideas (random networks make surprisingly good textures, He et
# al. 2016), but the pictures are **not** the paper's. Set `NST_COURSE_WEIGHTS=imagenet`
# to use the real weights.
#
# ## The layers
#
# Each of the five blocks has 2 or 4 convolutions (`convB_D`, each followed by a
# `reluB_D`) and ends with a pooling layer `poolB` that halves the grid. The paper names
# layers this way; so does this course. One detail matters when you compare with other
# code: the paper's software (Caffe) applies each ReLU in place, so the responses the
# paper calls conv4_2 are rectified, what this course calls relu4_2. The course's
# defaults are the convolution outputs before the ReLU; give the `relu` names to any
# function or widget to follow the paper to the letter.
#
# The table is for a 224 x 224 image, VGG's own input size. The *receptive field* is
# how many input pixels across one value can see: it grows by 2 with every 3 x 3
# convolution and doubles its growth after every pooling.

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'layer':<8} {'channels':>8} {'grid at 224x224':>16} {'receptive field':>16}")
for row in nst.describe_layers((224, 224)):
    if row["type"] != "relu":
        grid = f"{row['height']} x {row['width']}"
        print(f"{row['layer']:<8} {row['channels']:>8} {grid:>16} {row['receptive_field']:>13} px")

# %% [markdown]
# The grid shrinks by 2 at every pooling layer while the channels grow from 64 to 512:
# deep layers describe fewer, larger regions with more kinds of feature. One value of
# conv5_1 sees 156 pixels across; one of pool5, 268.
#
# Here is the same table for this lesson's photo, a built-in stand-in for the paper's
# Neckarfront photograph (Fig. 2 and 3). Only the grid sizes change with the image size.

# %%
photo = nst.load_image("town", size=settings.size)
height, width = photo.shape[-2:]
print(f"photo: {height} x {width} px")
for row in nst.describe_layers((height, width)):
    if row["type"] == "pool" or (row["layer"].endswith("_1") and row["type"] == "conv"):
        print(f"{row['layer']:<8} {row['channels']:>4} channels on a {row['height']:>3} x {row['width']:<3} grid")

# %% [markdown]
# ## Feature maps
#
# A layer's output for one image is a stack of *feature maps*, one per channel: grey
# images on the layer's grid, bright where the channel's filter responds. The paper
# writes them as a matrix $F^l$ with $N_l$ rows (channels) and $M_l$ columns (positions,
# height times width), Sec. 2.1. Here are the first 16 maps of conv1_1 and of conv3_1.

# %%
features = net(photo, ["conv1_1", "conv3_1", "conv5_1"])
for name, value in features.items():
    print(f"{name}: shape {tuple(value.shape)}  (batch, channels, height, width)")
plotting.show_images([photo], [f"input: town, {width} x {height} px"], size=4)

# %%
plotting.plot_feature_maps(features["conv1_1"], title=f"conv1_1, first 16 of 64 maps · weights: {net.weights}")

# %%
plotting.plot_feature_maps(features["conv3_1"], title=f"conv3_1, first 16 of 256 maps · weights: {net.weights}")

# %% [markdown]
# conv1_1 maps still look like the photo (edges, colours); conv3_1 maps are coarser and
# more abstract. The number of channels does not depend on the image, only the grid does:

# %%
# NBVAL_CHECK_OUTPUT
for name, value in features.items():
    print(f"{name}: {value.shape[1]} channels; grid = image size / {round(photo.shape[-1] / value.shape[-1])}")

# %% [markdown]
# Explore any layer with the widget below: choose a layer, and its maps are drawn.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.feature_maps_explorer(photo, net)

# %% [markdown]
# ## Max or average pooling?
#
# VGG-19 was trained with *max* pooling: each 2 x 2 window passes on its largest value.
# Gatys et al. replace it by *average* pooling, which gave "slightly more appealing
# results" (Sec. 2). One way to see why: max pooling passes on one value per window, so
# the gradient reaches only one of the four inputs; average pooling spreads it over all
# four. `nst.load_vgg19(pooling="max")` gives VGG's own choice.

# %%
net_max = nst.load_vgg19(pooling="max")
pooled_avg = net(photo, ["pool1", "pool2"])
pooled_max = net_max(photo, ["pool1", "pool2"])
channel = int(pooled_avg["pool2"][0].flatten(1).std(1).argmax())  # the most varied map
maps = [pooled[:, channel : channel + 1].expand(-1, 3, -1, -1) for pooled in (pooled_avg["pool2"], pooled_max["pool2"])]
plotting.show_images(
    [photo, *(m / m.max() for m in maps)],
    ["photo", f"pool2, channel {channel}: average", f"pool2, channel {channel}: max"],
    suptitle=f"Average or max pooling · weights: {net.weights}",
)


# %% [markdown]
# Max pooling keeps the strongest response of each window and looks sharper and
# blockier; average pooling looks smoother. Two facts that hold for any image and any
# weights: both give the same shapes, and at pool1, where both see the same input, the
# maximum of a window is never below its average.

# %%
# NBVAL_CHECK_OUTPUT
for name in ("pool1", "pool2"):
    same = pooled_avg[name].shape == pooled_max[name].shape
    print(f"{name}: same shape with max and average pooling: {same}")
print("pool1: max >= average everywhere:", bool((pooled_max["pool1"] >= pooled_avg["pool1"] - 1e-6).all()))

# %% [markdown]
# **Next:** lesson 01 asks what a single layer *remembers* about the photo, by finding
# an image that gives the same feature maps.
