# %% [markdown]
# # 00 · What the network sees
#
# Gatys, Ecker and Bethge (CVPR 2016) never train a network of their own. They take
# **VGG-19**, a network trained to name objects in photographs, keep its 16 convolutional
# and 5 pooling layers (Sec. 2), and read an image's *content* and *style* off its
# activations. This lesson looks at those layers: how many channels each has, how
# coarse its grid is, how much of the image one of its values can see, and what its
# feature maps look like.
#
# **Questions:** what does a layer of VGG-19 compute, and why is the paper's "conv4_2"
# called `relu4_2` in this course? **Objectives:** read the layer table; name a layer
# as the paper and the code do; look at feature maps and compare two layers.
# **Time:** about 10 minutes; the cells run in about 20 s on a 2-core laptop.

# %%
import nst_course as nst
from nst_course import plotting, widgets

settings = nst.lesson_settings(0)
net = nst.load_vgg19()
print("weights:", net.weights)
print("pooling:", net.pooling)
print("image size (longest side):", settings.size, "px", "(quick mode)" if nst.quick_mode() else "")

# %% [markdown]
# **Which weights?** `net.weights` says. With `imagenet` this is VGG-19 trained on
# ImageNet (torchvision's copy of the network the paper used in Caffe). With
# `random (untrained ...)` every filter is random: the lessons still run and still show
# the method at work (He, Wang & Hopcroft 2016 report that untrained networks make
# usable textures), but the pictures are **not** the paper's. Wherever what a picture
# shows depends on the weights, the lesson prints the sentence that holds for the
# network you run, and says what the paper reports for the trained one.
# Set `NST_COURSE_WEIGHTS=imagenet` to use the trained weights.
#
# ## The layers, and their names
#
# Each of the five blocks has 2 or 4 convolutions and ends with a pooling layer `poolB`
# that halves the grid. The course names every step: `convB_D` is the output of a
# convolution, `reluB_D` the same values after the rectifier (negative values set to 0).
#
# **The paper's names are rectified.** Gatys et al. used Caffe, where each ReLU
# overwrites its convolution's output in place: the responses the paper calls "conv4_2"
# are rectified, **relu4_2** here, and its style layers "conv1_1" ... "conv5_1" are
# relu1_1 ... relu5_1. Eq. (2) of the paper (the gradient is zero where a feature is
# negative) only makes sense for rectified features, and the authors' own code reads
# the rectified outputs. So the course's defaults are the relu layers; the conv layers
# stay available, and lesson 02 shows the difference side by side.
# [docs/layer-names.md](../docs/layer-names.md) says on one page which names the lessons
# use and why.
#
# The table is for a 224 x 224 image, VGG's own input size. The *receptive field* is
# how many input pixels across one value can see: it grows by 2 with every 3 x 3
# convolution and doubles its growth after every pooling. A relu layer has the shape of
# its convolution, so the table lists the relu and pool layers.

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'layer':<8} {'channels':>8} {'grid at 224x224':>16} {'receptive field':>16}")
for row in nst.describe_layers((224, 224)):
    if row["type"] != "conv":
        grid = f"{row['height']} x {row['width']}"
        print(f"{row['layer']:<8} {row['channels']:>8} {grid:>16} {row['receptive_field']:>13} px")
print()
print("content layer:", nst.CONTENT_LAYER, "(the paper's conv4_2, rectified)")
print("style layers: ", ", ".join(nst.STYLE_LAYERS), "(the paper's conv1_1 ... conv5_1, rectified)")

# %% [markdown]
# The grid shrinks by 2 at every pooling layer while the channels grow from 64 to 512:
# deep layers describe fewer, larger regions with more kinds of feature. One value of
# relu5_1 sees 156 pixels across; one of pool5, 268.
#
# Here is the same table for this lesson's photo, a built-in stand-in for the paper's
# Neckarfront photograph (Fig. 2 and 3). Only the grid sizes change with the image size.

# %%
photo = nst.load_image("town", size=settings.size)
height, width = photo.shape[-2:]
print(f"photo: {height} x {width} px")
for row in nst.describe_layers((height, width)):
    if row["type"] == "pool" or (row["layer"].endswith("_1") and row["type"] == "relu"):
        print(f"{row['layer']:<8} {row['channels']:>4} channels on a {row['height']:>3} x {row['width']:<3} grid")

# %% [markdown]
# Lessons 01 to 03 work at 128 px on a laptop (512 px with `NST_COURSE_PAPER_SIZE=1`).
# At 128 px the grid of relu5_1 is only 8 x 5 positions, so the deepest layers describe
# the whole image in a handful of values; the paper worked at about 512 px, where
# relu5_1 has 32 x 22. Keep this in mind when a deep layer's picture looks poorer
# than the paper's.

# %%
# NBVAL_CHECK_OUTPUT
for side in (128, 512):
    row = next(r for r in nst.describe_layers((side * 88 // 128, side)) if r["layer"] == "relu5_1")
    print(f"a {side} px wide photo: relu5_1 has {row['width']} x {row['height']} positions")

# %% [markdown]
# ## Feature maps
#
# A layer's output for one image is a stack of *feature maps*, one per channel: grey
# images on the layer's grid, bright where the channel's filter responds. The paper
# writes them as a matrix $F^l$ with $N_l$ rows (channels) and $M_l$ columns (positions,
# height times width), Sec. 2.1.

# %%
features = net(photo, ["relu1_1", "relu3_1", "relu5_1"])
for name, value in features.items():
    print(f"{name}: shape {tuple(value.shape)}  (batch, channels, height, width)")
plotting.show_images([photo], [f"input: town, {width} x {height} px"], size=4)

# %% [markdown]
# Below are the 16 most active maps of relu1_1 and of relu3_1, ordered by *energy* (the
# sum of a map's squared values), so that empty maps do not fill the picture.
#
# **Predict.** relu1_1 has 64 maps at full resolution, relu3_1 has 256 maps at a
# quarter of it. Which of the two will still look like the photo, and why?

# %%
widgets.feature_maps(photo, net, "relu1_1", 16, order="energy")[0]

# %%
widgets.feature_maps(photo, net, "relu3_1", 16, order="energy")[0]

# %% [markdown]
# **Answer.** The architecture settles part of it on any weights: one relu1_1 value
# sees 3 x 3 pixels on the photo's own grid, one relu3_1 value sees 24 x 24 pixels on a
# grid four times coarser, through filters that combine those of two blocks. What the
# maps respond to depends on the weights:

# %%
nst.for_network(
    net,
    trained="Zeiler & Fergus (2014) report for trained networks that the first layer's filters "
    "respond to edges and colours and deeper layers to textures and object parts: compare the two "
    "grids above with that. The paper reads its content at the deep end of this progression.",
    untrained="every filter is random, so no map looks for anything in particular: relu1_1 maps are "
    "the photo seen through random 3 x 3 filters, most of them a grey copy of it that weighs the colours "
    "differently, a few bringing out its edges; relu3_1 maps are the same through two more blocks of "
    "random filters, coarser and more blurred. The coarsening comes from "
    "the architecture and is the same on trained weights; the edges-then-parts progression that "
    "trained networks show (Zeiler & Fergus 2014) is not something these maps can show.",
)

# %% [markdown]
# The number of channels does not depend on the image, only the grid:

# %%
# NBVAL_CHECK_OUTPUT
for name, value in features.items():
    print(f"{name}: {value.shape[1]} channels; grid = image size / {round(photo.shape[-1] / value.shape[-1])}")

# %% [markdown]
# Explore with the widget below: choose the image, a layer, and a second layer to
# compare it with. The maps are ordered by energy (or by channel number), so the most
# active come first. Try relu1_1 against relu5_1, and conv3_1 against relu3_1 (the same
# values before and after the rectifier: the relu maps are the conv maps with every
# negative value set to black).

# %%
# NBVAL_IGNORE_OUTPUT
widgets.feature_maps_explorer(photo, net, compare="relu3_1")

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
# Max pooling passes on the strongest response of each window, average pooling the
# mean of the four, so the max map is never darker at pool1 and is usually blockier; at
# pool2 the two maps differ more, because pool2's inputs already went through different
# pool1 layers. Two facts that hold for any image and any weights: both give the same
# shapes, and at pool1, where both see the same input, the maximum of a window is never
# below its average.

# %%
# NBVAL_CHECK_OUTPUT
for name in ("pool1", "pool2"):
    same = pooled_avg[name].shape == pooled_max[name].shape
    print(f"{name}: same shape with max and average pooling: {same}")
print("pool1: max >= average everywhere:", bool((pooled_max["pool1"] >= pooled_avg["pool1"] - 1e-6).all()))

# %% [markdown]
# ## Key points
#
# - VGG-19's convolutional part: 16 convolutions in 5 blocks, each ending with a pooling
#   layer that halves the grid; the channels grow from 64 to 512.
# - The paper's layer "conv4_2" is the *rectified* output, `relu4_2` here; its style
#   layers are relu1_1 ... relu5_1 ([docs/layer-names.md](../docs/layer-names.md)).
# - A layer's output is $N_l$ feature maps of $M_l$ positions; deep layers see large
#   regions on a coarse grid (8 x 5 at relu5_1 for a 128 px image).
# - The paper replaces VGG's max pooling by average pooling.
#
# **Next:** lesson 01 asks what a single layer *remembers* about the photo, by finding
# an image that gives the same feature maps.
