# %% [markdown]
# # 04 · The paper's experiments, each one call away
#
# **Questions.** What do the figures of Gatys, Ecker & Bethge (2016) claim? Which knob
# changes what? What do the paper's numbers ($\alpha/\beta$ = 1e-3 and so on) mean in
# this package, or in any tutorial?
#
# **Objectives.** Read and rerun Fig. 3 to 7; translate a weight from one loss
# normalisation into another; change one knob of a figure and predict what happens.
#
# **Plan** (about 60 minutes): the numbers (10) · Fig. 4, the centrepiece (20) ·
# Fig. 3, 5, 6, 7 (25) · key points (5). Each run says first how long it will take;
# at the lesson's size the whole notebook runs in a few minutes on a laptop.
#
# Every figure is one function of `nst.figures`, built on the same loop as lessons 01
# to 03. Each returns the panels (every one a `Result` that records its settings) and
# a figure laid out like the paper's. For each figure: the claim, a question for you
# to answer **before** the run, the run, the picture, and what to look at.

# %%
import nst_course as nst
from nst_course import figures, widgets

settings = nst.lesson_settings(4)
net = nst.load_vgg19()
print("weights:", net.weights)
print(f"every panel: {settings.size} px, {settings.steps} L-BFGS steps, {settings.normalization} normalisation")
print(f"content layer {nst.CONTENT_LAYER}, style layers {', '.join(nst.STYLE_LAYERS)}")

# %% [markdown]
# If the weights say *random*, the network is untrained: the pictures show the method at
# work on a small image in a few steps, not the paper's results, and the text below says
# so where it matters.
#
# ## 1 · Translating the numbers
#
# The paper weighs its two losses with $\alpha$ and $\beta$ and reports the ratio
# $\alpha/\beta$. But each loss has a scale of its own, and that scale depends on how the
# loss is normalised:
#
# * **paper** (eq. 1 and 4): $\tfrac12\sum (F-P)^2$ for the content, $\tfrac{1}{4N^2M^2}\sum (G-A)^2$
#   for the style, on a copy of VGG-19 *rescaled* so that each filter's mean activation is 1;
# * **relative** (this package): each layer's squared error divided by its target's size;
# * **tutorial** (the PyTorch tutorial): mean squared errors, with Gram matrices divided by $C\cdot H\cdot W$;
# * **mean**: plain mean squared errors.
#
# So $\alpha/\beta$ = 1e-3 means nothing by itself. `figures.loss_scales` measures both
# losses of one start image (white noise) under each normalisation, on *these* images and
# *this* network, and translates: the $\beta$ here that makes the style term as big next
# to the content term as the paper's $\alpha/\beta$ made it.

# %%
photo = nst.load_image("town", size=settings.size)
painting, painting_caption = nst.load_painting("composition_vii", size=settings.size)
print("style image:", painting_caption)
scales = figures.loss_scales(net, photo, painting, settings=settings)
for name, label in figures.NORMALISATION_LABELS.items():
    print(f"{label:42s} content {scales.content[name]:9.3g}   style {scales.style[name]:9.3g}")

# %%
figures.plot_normalisations(scales, title=f"Five scales for the same two losses · weights: {net.weights}")

# %% [markdown]
# **What to look at.** The bars of one normalisation differ from another's by many
# powers of ten, and not by the same factor for content and style: that is why weights
# never carry over. On the right, each paper $\alpha/\beta$ of Fig. 4 with the $\beta$
# (with $\alpha = 1$) that means the same under each normalisation. Reading a tutorial
# works the other way round: the PyTorch tutorial's `style_weight=1e6` (with
# `content_weight=1`) amounts to this paper $\alpha/\beta$ on these images:

# %%
print(f"PyTorch tutorial, beta = 1e6:   paper alpha/beta = {scales.paper_ratio(1e6, 'tutorial'):.1e}")
default = scales.paper_ratio(settings.beta, "relative")
print(f"this package's default, beta = {settings.beta:g}: paper alpha/beta = {default:.1e}")

# %% [markdown]
# Two caveats, both measured rather than assumed. The paper's content loss is a *sum*
# over positions, so the same $\alpha/\beta$ gives the style less weight on a bigger image:
# the translation is for the size you run (`paper_size=512` translates for the paper's
# size instead). And the rescaled network is approximated by dividing each layer by its
# mean activation on these two images.
#
# ## 2 · Fig. 4: how much style, from which layers?
#
# **The claim.** Rows match the style on growing sets of layers (conv1_1 only, then up
# to conv2_1, ... up to conv5_1): the structures copied from the painting grow in size
# and complexity. Columns change $\alpha/\beta$ from 1e-5 (left) to 1e-2 (right): on the
# left the result is almost a texture of the painting, on the right almost the photo.
#
# **Predict** before you run: in which corner will the image look most like the painting,
# and in which most like the photo? Which row will keep the finest pixel-level patterns?

# %%
seconds = figures.estimate_figure_seconds(net, [4], size=settings.size, steps=settings.steps)
print(f"Fig. 4 is 20 runs; the next cell will take about {seconds:.0f} s")

# %%
fig4 = figures.figure4(net=net, settings=settings, init="noise")
print(f"{len(fig4.panels)} panels in {sum(p.result.seconds for p in fig4.panels):.0f} s")

# %%
fig4.show()

# %% [markdown]
# **What to look at.** Read along a row: from right to left, $\beta$ grows and the
# painting's colours and strokes take over from the photo's layout. Read down a column:
# with more layers, the copied patterns get larger. The weights under each panel are
# this package's $\beta$ for the paper's $\alpha/\beta$ above the column. With untrained
# weights, a small image and few steps the pictures are noisier than the paper's and
# the rows differ less; the losses still show the trade-off in every row:

# %%
for layers, values in figures.trade_off(fig4).items():
    print(f"{figures.layer_set_name(layers):22s}", "  ".join(f"β={b:.2g}: C {c:.2g} S {s:.2g}" for b, c, s in values))

# %%
# NBVAL_CHECK_OUTPUT
rows = figures.trade_off(fig4)
print("rows:", len(rows), "· columns:", sorted({len(v) for v in rows.values()}))
print("in every row, the left column has the lower style loss:", all(v[-1][2] < v[0][2] for v in rows.values()))
print("in every row, the left column has the higher content loss:", all(v[-1][1] > v[0][1] for v in rows.values()))

# %% [markdown]
# ### Pick a cell and run it bigger
#
# Choose a row (1 to 5) and a column (1 to 4) and run that one cell at twice the size
# with more steps. Predict first: will it look more or less like the paper's cell?

# %%
row, column = 5, 2
layers = figures.growing_layer_sets()[row - 1]
ratio = figures.FIG4_RATIOS[column - 1]
bigger = nst.lesson_settings(4, size=2 * settings.size, steps=2 * settings.steps)
seconds = nst.estimate_seconds(net, nst.load_image("town", size=bigger.size), layers=layers, steps=bigger.steps)
print(f"the next cell will take about {seconds:.0f} s")

# %%
cell = figures.figure4(net=net, settings=bigger, init="noise", layer_sets=[layers], ratios=[ratio])
cell.show()

# %% [markdown]
# Or explore the whole plane: choose the paper's $\alpha/\beta$ and the style layers, press
# *Run*, and watch. The caption gives the paper's number and this package's $\beta$.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.trade_off_explorer(photo, painting, net, settings=settings)

# %% [markdown]
# ## 3 · Fig. 3: one photograph, five paintings
#
# **The claim.** The same photograph takes on the look of very different paintings, each
# with its own $\alpha/\beta$ (1e-3, 8e-4, 5e-3, 5e-4, 5e-4), chosen by the authors for a
# good balance. Picasso's *Femme nue assise* is not in the public domain; Juan Gris's
# portrait of Picasso takes its place. Offline, each painting is replaced by a built-in
# one, and the caption says so.
#
# **Predict:** panel D (The Scream) has the largest $\alpha/\beta$, 5e-3. Will it keep
# more or less of the photo than the others?

# %%
seconds = figures.estimate_figure_seconds(net, [3], size=settings.size, steps=settings.steps)
print(f"the next cell will take about {seconds:.0f} s")

# %%
fig3 = figures.figure3(net=net, settings=settings, init="noise")
fig3.show()

# %% [markdown]
# **What to look at.** The small inset in each panel is its painting. Compare the colours
# of each result with its inset, and how much of the town's layout each keeps. The
# $\beta$ in each title differs more than the paper's ratios do: the translation is
# measured on each painting, whose style loss has its own scale.
#
# ## 4 · Fig. 5: which layer holds the content?
#
# **The claim.** Matching the content at conv2_2 keeps the photo's fine detail and the
# painting shows only as a surface texture; at conv4_2 (the default) only the layout is
# kept, and the painting's style reshapes the details. (The package uses the same kind of
# layer as its default content layer for both: `figures.same_kind_layer(2, 2)`.)
#
# **Predict:** which panel will look more like the photo?

# %%
fig5 = figures.figure5(net=net, settings=settings, style="composition_vii")
fig5.show()

# %% [markdown]
# **What to look at.** Panel A against B: sharp edges and the photo's exact colours in A,
# freer shapes in B. On an untrained network the difference is weaker than in the paper.
#
# ## 5 · Fig. 6: where the optimisation starts
#
# **The claim.** Starting from the photo (A), from the painting (B) or from white noise
# (C, four seeds) gives different images, but the differences are small once the loss has
# converged; only the noise starts give a *different* image for each seed, at about the
# same loss.
#
# **Predict:** what will the four noise results share, and where will they differ?

# %%
seconds = figures.estimate_figure_seconds(net, [6], size=settings.size, steps=settings.steps)
print(f"the next cell will take about {seconds:.0f} s")

# %%
fig6 = figures.figure6(net=net, settings=settings, style="composition_vii")
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
# **What to look at.** The noise results share the layout and the palette, and differ in
# where each stroke falls. **Why do only the noise starts give variety?** The loss has
# many images with (almost) the same value: every arrangement of the same strokes gives
# the same Gram matrices. A start from the photo or the painting is one fixed image, so
# the run ends in the one minimum nearest to it every time; each noise seed starts
# somewhere else and ends in a different minimum.
#
# ## 6 · Fig. 7: a photograph's style on another photograph
#
# **The claim.** The style need not be a painting: with a weak style ($\alpha/\beta$ = 1e-2)
# and starting from the content photo, the method carries the colours and lighting of one
# photograph onto another and keeps it looking like a photograph. The paper moves New York
# at night onto London by day; here the built-in photograph of Grace Hopper (public domain)
# lends its style to the town.
#
# **Predict:** which of the town's features will change, and which will stay?

# %%
fig7 = figures.figure7(net=net, settings=settings)
fig7.show()

# %% [markdown]
# **What to look at.** The result keeps every edge of the town and takes the other
# photograph's palette; with an untrained network, some of its texture comes too.
#
# ## Saving figures for a class
#
# `fig4.save("figures")` writes `fig4.png` (the layout above, with every panel's settings
# in its metadata) and one PNG per panel. From a terminal, `nst-course figure 4 --size 128
# --steps 200` does the same, and `nst-course figure all` renders every figure after an
# estimate of the time; Ctrl-C keeps the panels already finished.
#
# ## Key points
#
# * Each figure of the paper changes one knob: the weights (Fig. 3, 4), the style layers
#   (Fig. 4), the content layer (Fig. 5), the start (Fig. 6), the kind of style image (Fig. 7).
# * $\alpha/\beta$ belongs to a normalisation, a network and an image size; translate it by
#   measuring both losses under both normalisations, never by copying the number.
# * Along a row of Fig. 4 more $\beta$ always buys a lower style loss with a higher content loss.
# * Only noise starts give a different image for each seed.
#
# ## Discussion
#
# 1. Why does the paper's content loss make $\alpha/\beta$ depend on the image size, and
#    the relative normalisation not?
# 2. In Fig. 4, why do deeper style layers copy larger structures?
# 3. The translation matches the two terms on the start image. Why can the same balance at
#    the start still end in different pictures on a trained and an untrained network?
