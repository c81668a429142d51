# %% [markdown]
# # 04 · The paper's experiments, each one call away
#
# **Questions.** What do the figures of Gatys, Ecker & Bethge (2016) claim? Which knob
# changes what? What do the paper's numbers ($\alpha/\beta$ = 1e-3 and so on) mean in
# this package, or in any tutorial?
#
# **Objectives.** Translate a weight from one loss normalisation into another; read and
# rerun Fig. 3 to 7; pick a cell of Fig. 4 and rerun it bigger; say why only noise starts
# give variety.
#
# **Plan** (about 60 minutes): the numbers (10) · Fig. 4, the centrepiece (20) ·
# Fig. 3, 5, 6, 7 (25) · key points (5). Each run says first how long it will take; at
# the lesson's size (64 px, 40 steps per panel) the cells run in about 2.5 minutes on a
# 2-core laptop.
#
# Every figure is one function of `nst.figures`, built on the same loop as lessons 01
# to 03. Each returns the panels (every one a `Result` that records its settings) and a
# figure laid out like the paper's. For each figure: what it varies, a question for you
# to answer **before** the run, the run, the picture, what your run measured, and what
# the paper reports for it.
#
# The layers are the paper's: its "conv4_2" (content) and "conv1_1" ... "conv5_1"
# (style) are the rectified outputs, `relu4_2` and `relu1_1` ... `relu5_1` here
# ([docs/layer-names.md](../docs/layer-names.md)).

# %%
from itertools import pairwise

import nst_course as nst
from nst_course import figures, widgets

settings = nst.lesson_settings(4, init="noise")
net = nst.load_vgg19()
print("weights:", net.weights)
print(f"every panel: {settings.size} px, {settings.steps} L-BFGS steps")
print(f"{settings.normalization} normalisation; content layer {nst.CONTENT_LAYER}, style layers {nst.STYLE_LAYERS}")

# %% [markdown]
# If the weights say *random*, the network is untrained: the pictures show the method at
# work on a small image in a few steps, not the paper's results. The paper used 512 px
# images (its longest side, about) and ran each to convergence; here each panel is 64 px
# and 40 steps, so that some 35 runs fit in a lesson. Where a sentence about a picture
# depends on the weights, the lesson prints the one for the network you run.
#
# ## 1 · Translating the numbers
#
# The paper weighs its two losses with $\alpha$ and $\beta$ and reports the ratio
# $\alpha/\beta$. But each loss has a scale of its own, and that scale depends on how the
# loss is normalised:
#
# * **paper** (eq. 1 and 4): $\tfrac12\sum (F-P)^2$ for the content,
#   $\tfrac{1}{4N^2M^2}\sum (G-A)^2$ for the style, on a copy of VGG-19 *rescaled* so
#   that each filter's mean activation is 1;
# * **relative** (this package's default): each layer's squared error divided by its
#   target's sum of squares (its squared norm);
# * **tutorial** (the PyTorch tutorial): mean squared errors, with Gram matrices divided
#   by $C\cdot H\cdot W$, on its own layers (conv2_2 for the content; conv1_1, conv1_2,
#   conv2_1, conv2_2 and conv3_1 for the style, all before the ReLU), the five style
#   terms summed, on a max-pooling network;
# * **mean**: plain mean squared errors.
#
# So $\alpha/\beta$ = 1e-3 means nothing by itself. `figures.loss_scales` measures both
# losses of one start image (white noise) under each normalisation, on *these* images
# and *this* network, and translates: the $\beta$ (with $\alpha = 1$) that makes the
# style term as big next to the content term as the paper's $\alpha/\beta$ made it.

# %%
photo = nst.load_image("town", size=settings.size)
painting, painting_caption = nst.load_painting(figures.FIG4_STYLE, size=settings.size)
print("content image: 'town' (built-in) · style image:", painting_caption)
scales = figures.loss_scales(net, photo, painting, settings=settings)
for name, label in figures.NORMALISATION_LABELS.items():
    print(f"{label:42s} content {scales.content[name]:9.3g}   style {scales.style[name]:9.3g}")

# %%
figures.plot_normalisations(scales, title=f"One start image, five normalisations · weights: {net.weights}")

# %% [markdown]
# **What to look at.** On the left (a log scale), the content and style loss of the same
# noise image under each normalisation: from one normalisation to the next the bars move
# by powers of ten, and not by the same factor for content and style. That is why
# weights never carry over from one code base to another. On the right, each paper
# $\alpha/\beta$ of Fig. 4 as the $\beta$ (with $\alpha = 1$) that means the same under
# each normalisation, on these images and this network. Reading a tutorial works the
# other way round. The PyTorch tutorial's `style_weight=1e6` (with `content_weight=1`)
# belongs to its own objective (the layers, sum and max pooling above); measured that
# way, on these images and this network's weights, it amounts to this paper
# $\alpha/\beta$:

# %%
print(f"PyTorch tutorial, beta = 1e6:   paper alpha/beta = {scales.paper_ratio(1e6, 'tutorial'):.1e}")
default = scales.paper_ratio(nst.Settings().beta, "relative")
print(f"this package's default, beta = {nst.Settings().beta:g}: paper alpha/beta = {default:.1e}")

# %% [markdown]
# Two caveats. The paper's content loss is a *sum* over positions, so the same
# $\alpha/\beta$ gives the style less weight on a bigger image: the translation is for
# the size you run (`paper_size=512` translates for the paper's size instead). And the
# rescaled network is approximated by dividing each layer by its mean activation on
# these two images. The translation matches the two terms *at the start*; where the
# optimisation ends depends on more than that (question 3 at the end).
#
# ## 2 · Fig. 4: how much style, from which layers?
#
# **What it varies.** Rows match the style on growing sets of layers (relu1_1 only, then
# up to relu2_1, ... up to relu5_1). Columns change $\alpha/\beta$ from 1e-5 (left) to
# 1e-2 (right), each translated into this package's $\beta$ as above.
#
# **Predict** before you run: in which corner will the image look most like the
# painting, and in which most like the photo? Along a row, which loss will fall and
# which will rise from right to left?
#
# **One departure, to see it in a lesson.** The paper starts every panel from white
# noise. After 40 steps at 64 px a noise start is still mostly noise, and the grid would
# hide the trade-off it is meant to show; so here every panel starts from the photo
# (`init="content"`). The start is the photo, so the right column can stay close to it
# and the left must move away from it to buy style; section 5 (Fig. 6) shows what the
# start changes.

# %%
seconds = figures.estimate_figure_seconds(net, [4], size=settings.size, steps=settings.steps)
print(f"Fig. 4 is 20 runs; the next cell will take about {seconds:.0f} s")

# %%
fig4 = figures.figure4(net=net, settings=settings, init="content")
print(f"{len(fig4.panels)} panels in {sum(p.result.seconds for p in fig4.panels):.0f} s")

# %%
fig4.show()

# %% [markdown]
# **What to look at.** Each panel's title gives the $\beta$ this package used for the
# paper's $\alpha/\beta$ above its column (translated on each row's own layers). Read
# along a row: from right to left $\beta$ grows tenfold per column. Read down a column:
# the style is matched on more and deeper layers. For each row, from the smallest
# $\beta$ (right column) to the largest (left), the unweighted content (C) and style (S)
# losses of the final image:

# %%
for layers, values in figures.trade_off(fig4).items():
    print(f"{figures.layer_set_name(layers):22s}", "  ".join(f"β={b:.2g}: C {c:.2g} S {s:.2g}" for b, c, s in values))

# %%
# NBVAL_CHECK_OUTPUT
rows = figures.trade_off(fig4)  # for each row: (β/α, content loss, style loss), β/α growing
steps = [pair for values in rows.values() for pair in pairwise(values)]
print("rows (style-layer sets):", len(rows), "· columns (α/β):", sorted({len(v) for v in rows.values()}))
print("along every row, the style loss falls as β/α grows:", all(a[2] > b[2] for a, b in steps))
print("along every row, the content loss rises as β/α grows:", all(a[1] < b[1] for a, b in steps))
recorded = [p.result.extra["paper_alpha_over_beta"] for p in fig4.panels]
print("every panel records the paper's α/β it stands for:", all(r in figures.FIG4_RATIOS for r in recorded))

# %% [markdown]
# **Answer.** The losses settle the second question on any network, and the check above
# read them off your run: a larger $\beta$ buys a lower style loss at the price of a
# higher content loss, in every row. That is what a weighted sum of two losses does: the
# optimiser trades one for the other at the exchange rate $\alpha/\beta$. The paper
# reports (Fig. 4, trained network, 512 px, from noise) that the bottom-left corner (all
# five style layers, the most style weight) is almost a texture of the painting, the
# top-right one almost the photo, and that the copied structures grow in size and
# complexity down the rows. What your grid shows:

# %%
nst.for_network(
    net,
    trained="compare your grid with the paper's description above; at 64 px and 40 steps each "
    "panel is far from converged and the deep layers have few positions (the grid at relu5_1 is "
    "4 x 3), so expect the rows to differ less than in the paper.",
    untrained="with the lesson's settings (64 px, 40 steps from the photo) the right column keeps "
    "the town almost as it is, and from right to left the painting's colours and blotches take "
    "over the houses and the sky; the rows differ little, because random filters do not grow "
    "into larger structures the way the trained ones in the paper's Fig. 4 do.",
)

# %% [markdown]
# ### Pick a cell and run it bigger
#
# Choose a row (1 to 5) and a column (1 to 4) and run that one cell at twice the size
# with twice the steps. Predict first: will it look more or less like its small version?

# %%
row, column = 5, 2
layers = figures.growing_layer_sets()[row - 1]
ratio = figures.FIG4_RATIOS[column - 1]
bigger = nst.lesson_settings(4, init="noise", size=2 * settings.size, steps=2 * settings.steps)
probe = nst.load_image("town", size=bigger.size)
seconds = nst.estimate_seconds(net, probe, layers=[*bigger.content_layers, *layers], steps=bigger.steps)
print(f"row {row} ({figures.layer_set_name(layers)}), column {column} (α/β = {figures.format_ratio(ratio)})")
print(f"the next cell will take about {seconds:.0f} s")

# %%
cell = figures.figure4(net=net, settings=bigger, layer_sets=[layers], ratios=[ratio], init="content")
cell.show()

# %% [markdown]
# Compare it with its small version in the grid above. At twice the size every layer has
# four times as many positions, so the town's layout is drawn on a finer grid, and the
# style's structures are smaller next to the image: the same filters see a smaller part
# of it.
#
# Or explore the whole plane: choose the paper's $\alpha/\beta$ and the style layers,
# press *Run*, and watch the image form. The caption gives the paper's number and this
# package's $\beta$. A run at the lesson's size takes a few seconds.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.trade_off_explorer(photo, painting, net, settings=settings)

# %% [markdown]
# ## 3 · Fig. 3: one photograph, five paintings
#
# **What it varies.** The same photograph in the styles of five paintings. In lesson 03
# all five had one $\alpha/\beta$; the paper chose one per painting, the balance its
# authors judged best for that painting: 1e-3, 8e-4, 5e-3, 5e-4, 5e-4 (the CVPR paper's
# Fig. 3 captions; see the note below). Picasso's *Femme nue assise* is not in the public domain;
# Juan Gris's portrait of Picasso takes its place. Offline, each painting is replaced
# by a built-in one of its own, and the caption says so. As in Fig. 4, the panels start
# from the photo so that 40 steps show the style.
#
# *A note on the ratios.* The course follows the CVPR 2016 paper, whose figures it
# reruns. Its earlier arXiv preprint (1508.06576, "A Neural Algorithm of Artistic
# Style", the version the PyTorch tutorial links) numbers these figures 2 (the five
# styles) and 3 (the trade-off grid), and gives 1e-3 and 1e-4 as the ratios of its style
# pictures; the lesson keeps the CVPR numbers so that each panel and the caption it
# reruns agree.
#
# **Predict:** panel D (The Scream) has the largest $\alpha/\beta$, 5e-3. Will it keep
# more or less of the photo than the others?

# %%
seconds = figures.estimate_figure_seconds(net, [3], size=settings.size, steps=settings.steps)
print(f"Fig. 3 is 5 runs; the next cell will take about {seconds:.0f} s")

# %%
fig3 = figures.figure3(net=net, settings=settings, init="content")
fig3.show()

# %% [markdown]
# **What to look at.** The small inset in each panel is its painting (offline, a built-in
# stand-in; the title names the painting it stands for). The $\beta$ in each title
# differs more than the paper's ratios do: the translation is measured on each painting,
# whose style loss has its own scale. **Answer**, from your run: how far each panel
# moved from the photo (mean absolute pixel difference), next to the $\beta$ it ran with.

# %%
moved = {p.key: float((p.result.image - fig3.inputs["content"][0]).abs().mean()) for p in fig3.panels}
for p in fig3.panels:
    ratio, beta = p.result.extra["paper_alpha_over_beta"], p.result.settings["style_weight"]
    print(f"{p.key}: α/β = {figures.format_ratio(ratio)}, β = {beta:.3g}, moved {moved[p.key]:.3f}")
print(f"kept the most of the photo: {min(moved, key=moved.get)}; moved furthest: {max(moved, key=moved.get)}")

# %% [markdown]
# D has the largest $\alpha/\beta$, the least style weight for its painting, so it should
# keep the most of the photo; how far a panel moves also depends on how far its painting
# is from the photo, which the lines above show. The paper reports (Fig. 3, trained
# network, 512 px, run to convergence) five fully painted renderings of the Neckarfront,
# each in the colours and strokes of its painting.
#
# ## 4 · Fig. 5: which layer holds the content?
#
# **What it varies.** The layer the content is matched at: conv2_2 (relu2_2 here, panel
# A) or conv4_2 (relu4_2, the default, panel B), everything else the same, from noise.
#
# **Predict:** which panel will look more like the photo, and why?

# %%
seconds = figures.estimate_figure_seconds(net, [5], size=settings.size, steps=settings.steps)
print(f"Fig. 5 is 2 runs; the next cell will take about {seconds:.0f} s")

# %%
fig5 = figures.figure5(net=net, settings=settings)
grids = {row["layer"]: f"{row['width']} x {row['height']}" for row in nst.describe_layers(tuple(photo.shape[-2:]))}
print("positions (width x height) at this size:", ", ".join(f"{n} {grids[n]}" for n in ("relu2_2", "relu4_2")))
fig5.show()

# %% [markdown]
# **Answer**, from your run: how far each panel ended from the photo (mean absolute pixel
# difference; about 0.3 is unrelated noise).

# %%
photo_small = fig5.inputs["content"][0]
for p in fig5.panels:
    distance = float((p.result.image - photo_small).abs().mean())
    print(f"{p.key} ({p.result.settings['content_layers'][0]}): {distance:.3f} from the photo")

# %% [markdown]
# relu2_2 has a position for every 2 x 2 pixels, relu4_2 one for every 8 x 8 (the grids
# printed above): the shallow layer pins the image down more tightly, on any weights.
# The paper reports (Fig. 5, trained network, 512 px) that with conv2_2 the photo's fine
# detail stays and the painting shows only as a surface texture, while with conv4_2 the
# layout stays and the painting's style reshapes the details. At 64 px relu4_2 has only
# 8 x 5 positions to hold a layout.
#
# ## 5 · Fig. 6: where the optimisation starts
#
# **What it varies.** Where the optimisation starts: from the photo (A), from the
# painting (B), or from white noise (C, four seeds); everything else is the same.
#
# **Predict:** what will the four noise results share, and where will they differ? Will
# A and B look alike?

# %%
seconds = figures.estimate_figure_seconds(net, [6], size=settings.size, steps=settings.steps)
print(f"Fig. 6 is 6 runs; the next cell will take about {seconds:.0f} s")

# %%
fig6 = figures.figure6(net=net, settings=settings)
fig6.show()

# %%
noise = [fig6.panel(key) for key in ("C1", "C2", "C3", "C4")]
losses = [p.result.best_loss for p in noise]
print("final losses of the noise starts:", ", ".join(f"{v:.3g}" for v in losses))
print(f"largest / smallest: {max(losses) / min(losses):.2f}")

# %%
# NBVAL_CHECK_OUTPUT
different = all((a.image - b.image).abs().mean() > 0.01 for i, a in enumerate(noise) for b in noise[i + 1 :])
print("every two noise seeds give different images:", different)
print("the seeds are recorded:", [p.result.settings["seed"] for p in noise])

# %% [markdown]
# **Answer.** Your run measured it: the noise seeds end as different images (the check
# above) at losses within the ratio printed above it. **Why do only the noise starts
# give variety?** The loss has many images with (almost) the same value: every
# rearrangement of the same strokes gives the same Gram matrices. A start from the photo
# or the painting is one fixed image, so the optimisation ends in the same minimum every
# time; each noise seed starts somewhere else and ends in a different minimum. A start
# also carries its own layout into the result: the optimiser changes the start only as
# far as the loss asks, so A keeps more of the photo's arrangement and B more of the
# painting's, which is why the panels differ before convergence. The paper reports
# (Fig. 6, trained network, run to convergence) that the differences between the starts
# become small, and that only the noise starts give a different image per seed.

# %%
nst.for_network(
    net,
    trained="after only 40 steps at 64 px, expect A and B to keep much of the image each started "
    "from; the paper's panels are converged.",
    untrained="with the lesson's settings (64 px, 40 steps) A still looks like the photo it started "
    "from; B and the four noise results are coloured grain with the town's layout faintly showing "
    "through, little is left of the painting in B, and the noise results differ pixel by pixel.",
)

# %% [markdown]
# ## 6 · Fig. 7: a photograph's style on another photograph
#
# **What it varies.** The style image is a photograph, with a weak style
# ($\alpha/\beta$ = 1e-2) and the content photo as the start. The paper moves New York
# at night onto London by day and shows that the result takes on some of the other
# photograph's colours and lighting; its Discussion adds that the low-level noise of the
# method's results is more apparent when both images are photographs, and harms their
# photorealism. Here the built-in photograph of Grace Hopper (public domain,
# shipped with matplotlib, so it works offline) lends its style to the town.
#
# **Predict:** which of the town's features will change, and which will stay?

# %%
seconds = figures.estimate_figure_seconds(net, [7], size=settings.size, steps=settings.steps)
print(f"Fig. 7 is 1 run; the next cell will take about {seconds:.0f} s")

# %%
fig7 = figures.figure7(net=net, settings=settings)
fig7.show()

# %% [markdown]
# **Answer**, from your run: how far the result moved from the town, and whether its
# mean colour moved towards the other photograph's.

# %%
town_small, hopper_small = fig7.inputs["content"][0], fig7.inputs["style"][0]
result7 = fig7.panels[0].result.image
colour = {
    name: image.mean(dim=(-2, -1)).squeeze(0)
    for name, image in [("town", town_small), ("style photo", hopper_small), ("result", result7)]
}
print(f"moved from the town: {float((result7 - town_small).abs().mean()):.3f} (mean absolute pixel difference)")
before = float((colour["town"] - colour["style photo"]).abs().mean())
after = float((colour["result"] - colour["style photo"]).abs().mean())
print(f"mean colour's distance to the style photo's: town {before:.3f}, result {after:.3f}")

# %% [markdown]
# ## Saving figures for a class
#
# `fig4.save("figures")` writes `fig4.png` (the layout above, with every panel's
# settings in its metadata) and one PNG per panel. From a terminal,
# `nst-course figure 4 --size 128 --steps 200` does the same, and `nst-course figure all`
# renders every figure after an estimate of the time; Ctrl-C keeps the panels already
# finished.
#
# ## Key points
#
# * Each figure of the paper changes one knob: the weights (Fig. 3, 4), the style layers
#   (Fig. 4), the content layer (Fig. 5), the start (Fig. 6), the kind of style image
#   (Fig. 7).
# * $\alpha/\beta$ belongs to a normalisation, a network and an image size; translate it
#   by measuring both losses under both normalisations, never by copying the number.
# * Along a row of Fig. 4 more $\beta$ buys a lower style loss with a higher content loss.
# * Only noise starts give a different image for each seed.
#
# ## Discussion
#
# 1. Why does the paper's content loss make $\alpha/\beta$ depend on the image size, and
#    the relative normalisation not?
# 2. In Fig. 4, why do deeper style layers copy larger structures?
# 3. The translation matches the two terms on the start image. Why can the same balance
#    at the start still end in different pictures on a trained and an untrained network?
