# %% [markdown]
# # 03 · The full transfer: content plus style
#
# Put lessons 01 and 02 together (Fig. 2 of the paper): take the content target $P^l$
# from a photo at the paper's conv4_2 (relu4_2 here), the style targets $A^l$ (Gram
# matrices) from a painting at conv1_1 ... conv5_1 (relu1_1 ... relu5_1, see
# [docs/layer-names.md](../docs/layer-names.md)), start from an image and minimise
# eq. (7):
#
# $$\mathcal{L}_{total} = \alpha\, \mathcal{L}_{content} + \beta\, \mathcal{L}_{style}.$$
#
# In this lesson you write the total loss and what the optimisation loop measures at
# each step, and run a transfer made of your code.
#
# **Questions:** how do content and style combine, and what does the optimiser do?
# **Objectives:** write the objective of eq. (7) and the closure of an L-BFGS loop; compare your
# transfer with the package's; explore $\alpha/\beta$. **Time:** about 35 minutes;
# the cells run in about 3.5 minutes on a 2-core laptop.

# %%
import torch

import nst_course as nst
from nst_course import plotting, widgets

settings = nst.lesson_settings(3, normalization="paper")
net = nst.load_vgg19()
photo = nst.load_image("town", size=settings.size)
style, style_caption = nst.load_painting("starry_night", size=settings.size)
alpha, beta = settings.content_weight, settings.beta
print("weights:", net.weights)
print("style image:", style_caption)
print(f"size: {photo.shape[-2]} x {photo.shape[-1]} px; {settings.steps} L-BFGS steps per image")
print(f"content layers {settings.content_layers}, style layers {settings.style_layers}")
print(f"start image: {settings.init}")
print(f"alpha = {alpha:g}, beta = {beta:g}: alpha/beta = {alpha / beta:g}")

# %% [markdown]
# **Where the transfer starts.** The paper starts from white noise; here the transfer
# starts from the photo (`settings.init == "content"`, as in the authors' own code),
# which shows the layout at once with the few steps a CPU affords. Fig. 6 of the paper
# shows that the start changes little once the optimisation has converged. Starting
# from the photo, the content term is **zero** at the start and grows as the style
# pulls the image away.
#
# **The paper's equations, not the authors' code.** The lesson's losses are eq. (1) and
# (4) of the paper. The authors' own code departs from them: it max-pools, takes mean
# squared errors of Gram matrices divided by $M$, and weighs each style layer by
# $10^3/N_l^2$; `nst_course.engine.settings.AUTHORS_CODE_OBJECTIVE` (on a network loaded with
# `pooling="max"`) reproduces that objective exactly, for comparison.
#
# **What $\alpha$ and $\beta$ do.** This course writes the ratio as $\alpha/\beta$, as
# the paper does. $\beta$ multiplies the style term: the optimiser trades content
# error for style error at that exchange rate, so a larger $\beta$ (a smaller
# $\alpha/\beta$) gives more of the painting's colours and strokes, a smaller one keeps
# the photo more recognisable (Fig. 4). The number that works depends on the scale of
# each loss, and so on the network and the image size: the paper's $\alpha/\beta$ of
# $10^{-3}$ belongs to its rescaled ImageNet network at 512 px. This lesson uses
# $\alpha/\beta = 10^{-4}$ with the paper's losses (the cell above prints it); lesson 04
# shows how to translate a ratio from one network and normalisation to another. The
# ratio is a dial, not a statement that style "counts 10 000 times as much".
#
# ## Your pieces from lessons 01 and 02
#
# Copy your three functions here (the exercises of lessons 01 and 02). Until you do,
# the package's take their place.


# %%
def content_loss(features, target):
    """Lesson 01: the paper's eq. (1)."""
    # BEGIN SOLUTION: copy your content_loss from lesson 01
    return 0.5 * (features - target).pow(2).sum()
    # END SOLUTION


def gram_matrix(features):
    """Lesson 02: (B, C, H, W) -> (B, C, C), divided by M = H*W."""
    # BEGIN SOLUTION: copy your gram_matrix from lesson 02
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)
    # END SOLUTION


def layer_style_loss(features, target_gram):
    """Lesson 02: the paper's E_l for Gram matrices divided by M."""
    # BEGIN SOLUTION: copy your layer_style_loss from lesson 02
    return (my_gram(features) - target_gram).pow(2).sum() / (4 * features.shape[1] ** 2)
    # END SOLUTION


my_content_loss = nst.checks.use_or_reference(content_loss)
my_gram = nst.checks.use_or_reference(gram_matrix)
my_style_loss = nst.checks.use_or_reference(layer_style_loss)

# %% [markdown]
# ## The total loss
#
# The loop minimises an *objective*: a function `objective(features, image)` that
# returns a dict of named, one-number loss terms (the loop adds them up, and plots each
# one), with an attribute `layers` listing the layers whose features it needs. Lessons
# 01 and 02 built such objectives for one loss; now the whole of eq. (7).
#
# ### Exercise 1: the objective
#
# Write `make_objective(content_targets, style_targets, alpha, beta)`.
# - **Inputs:** `content_targets`, a dict from a layer name to the photo's features
#   there, (B, C, H, W); `style_targets`, a dict from a layer name to the painting's Gram
#   matrix there, (B, C, C), divided by M; the weights `alpha` and `beta`.
# - **Output:** a function `objective(features, image)` that returns a dict of named
#   one-number tensors adding up to
#   $\alpha \sum_{l \in content} \mathcal{L}_{content}^l + \beta \sum_{l \in style} w_l E_l$
#   with $w_l = 1/L$ for $L$ style layers, computed with your `content_loss` and
#   `layer_style_loss` on `features[name]`. The function carries an attribute `layers`,
#   the list of every content and style layer name.


# %%
def make_objective(content_targets, style_targets, alpha, beta):
    """Eq. (7) as an objective for the loop: named terms, and the layers it needs."""

    # BEGIN SOLUTION: return objective(features, image) -> {name: term}, with objective.layers
    def objective(features, image):
        terms = {}
        for name, target in content_targets.items():
            terms[f"content {name}"] = alpha * my_content_loss(features[name], target)
        for name, target in style_targets.items():
            terms[f"style {name}"] = beta * my_style_loss(features[name], target) / len(style_targets)
        return terms

    objective.layers = [*content_targets, *style_targets]
    return objective
    # END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_objective(make_objective)

# %% [markdown]
# ## The optimisation
#
# The paper changes the pixels with L-BFGS, as `nst.optimize` does. Below is that
# loop, whole but for one part. What is already there:
#
# - **What moves.** The optimiser moves a tensor `free`, a copy of the start; the image
#   is `nst.fold(free)`, its values mirrored into [0, 1], so every image measured is one
#   a screen can show.
# - **The optimiser.** `torch.optim.LBFGS`, one iteration per step. L-BFGS may measure
#   a few points in one step, so it does not take a loss: it takes a *closure*, a
#   function it calls whenever it wants the loss and its gradient at the current `free`.
# - **What the optimiser sees.** The total loss divided by `scale`, the start's total,
#   so that it starts at 1.0 whatever the network makes of the loss's size.
# - **The stopping rule.** A fixed number of steps (`nst.transfer` also stops once the
#   loss has stopped falling).
#
# How L-BFGS uses these, and why each is there, is the optional last section of this
# lesson.
#
# ### Exercise 2: what the closure measures
#
# Complete the closure in `loop(net, objective, init, steps)`. Each time L-BFGS calls it,
# `image` is the current image; the closure must
# - measure the objective of eq. (7) on `image`: the network's features at the layers
#   the objective needs (`net(image, layers)` returns a dict of features), then the sum
#   of the objective's terms;
# - call `backward()` on that total divided by `scale`, which puts the gradient where
#   the optimiser reads it (`free.grad`);
# - return the number it differentiated: what the optimiser minimises.
#
# The rest of `loop` measures the start, runs the steps and returns `(image, losses)`:
# the final image and the total loss each step started from.


# %%
def loop(net, objective, init, steps):
    """L-BFGS on the pixels, as nst.optimize runs it; the closure measures the loss."""
    free = init.detach().clone().clamp(0, 1).requires_grad_(True)  # what the optimiser moves
    optimizer = torch.optim.LBFGS(  # one iteration per step, with a line search: see the last section
        [free],
        lr=1.0,
        max_iter=1,
        max_eval=21,
        line_search_fn="strong_wolfe",
        history_size=50,
        tolerance_grad=0.0,
        tolerance_change=0.0,
    )
    scale = 1.0  # the start's total loss, once the first call below has measured it

    def closure():
        optimizer.zero_grad()  # the gradient of this call only
        image = nst.fold(free)  # the pixels, in [0, 1]
        # BEGIN SOLUTION: the objective's total on `image`; backward() of it / `scale`; return what you differentiated
        total = sum(objective(net(image, objective.layers), image).values())
        loss = total / scale
        loss.backward()
        return loss
        # END SOLUTION

    scale = closure().item()  # the start's total; from here on the optimiser sees 1.0 at the start
    optimizer.param_groups[0]["lr"] = nst.first_step_lr(1.0, free.grad / scale)  # aim the first step
    losses = []
    for _ in range(steps):  # the stopping rule: a fixed number of steps
        losses.append(optimizer.step(closure).item() * scale)  # the total loss this step started from
        optimizer.param_groups[0]["lr"] = 1.0
    return nst.fold(free).detach(), losses


# %%
# NBVAL_CHECK_OUTPUT
passed = nst.check_loop(loop)

# %% [markdown]
# ## Your transfer, next to the package's
#
# Your objective, driven by your loop, against `nst.transfer` with the same settings.
# Both start from the photo. First, how long it takes:

# %%
my_objective_maker = nst.checks.use_or_reference(make_objective)
my_loop = nst.checks.use_or_reference(loop)
with torch.no_grad():
    content_targets = net(photo, settings.content_layers)
    style_targets = {name: my_gram(value) for name, value in net(style, settings.style_layers).items()}
objective = my_objective_maker(content_targets, style_targets, alpha, beta)
# your loop measures each step's start twice (once as the last trial of the step before),
# the package once: about three runs' worth of evaluations in all
seconds = nst.estimate_seconds(net, photo, layers=objective.layers, steps=settings.steps, runs=3)
print(f"the next cell will take about {seconds:.0f} s (2 runs of {settings.steps} steps)")

# %% [markdown]
# **Predict.** The content term starts at zero (the start is the photo). Over the run,
# will it rise, fall, or stay at zero? Which style layers will fall fastest?

# %%
my_image, my_losses = my_loop(net, objective, photo, settings.steps)
result = nst.transfer(photo, style, settings=settings, net=net, stop_tolerance=0.0, progress=False)
plotting.show_images(
    [photo, style, my_image, result.image],
    ["content: town", f"style: {style_caption.split(' (')[0]}", "your objective and loop", "nst.transfer"],
    suptitle=f"Style transfer (Fig. 2), α/β = {alpha / beta:g} · weights: {net.weights}",
    size=3.0,
)

# %%
plotting.plot_losses(
    {"your loop": my_losses, "nst.transfer": result.history["total"]},
    title=f"Total loss per step: your code and the package's · weights: {net.weights}",
)

# %% [markdown]
# The two agree, but after 100 steps not to the pixel: your closure adds the terms in
# another order than the package's, float32 rounds them a little differently, and each
# L-BFGS step builds on the one before, so the tiny differences grow into a different
# grain of noise. On the course's test machine the two pictures ended 0.036 apart (mean
# absolute pixel difference), a third of the 0.10 each moved from the photo; the losses
# 0.2% apart. The next cell checks the same, with room to spare.

# %%
# NBVAL_CHECK_OUTPUT
final_gap = abs(my_losses[-1] - result.history["total"][-1]) / result.history["total"][-1]
moved = float((result.image - photo).abs().mean())
apart = float((my_image - result.image).abs().mean())
print("final losses within 3%:", final_gap < 0.03)
print("the same picture up to its grain (apart by under half of how far it moved from the photo):", apart < moved / 2)
print("your image is in [0, 1]:", bool(my_image.min() >= 0 and my_image.max() <= 1))

# %% [markdown]
# Every term of the package's run is recorded at every step, already multiplied by its
# weight:

# %%
plotting.plot_losses(result.history, title=f"Loss per term, nst.transfer · weights: {net.weights}")

# %% [markdown]
# **Answer.** From your run: how each term moved between the first step and the last
# (the curves are on a log scale, so equal drops are equal factors).

# %%
first = {name: values[0] for name, values in result.history.items()}
best = {name: values[-1] for name, values in result.history.items()}
content_terms = [name for name in result.history if name.startswith("content")]
print(
    "content:",
    ", ".join(f"{n} from {first[n]:.3g} to {best[n]:.3g}" for n in content_terms),
    "(it starts at 0 because the start is the photo)",
)
style_terms = sorted((n for n in result.history if n.startswith("style")), key=lambda n: best[n] / first[n])
for name in style_terms:
    print(f"{name}: fell to {best[name] / first[name]:.2g} of its start")
print(f"fell furthest: {style_terms[0]}; least: {style_terms[-1]}")

# %% [markdown]
# The content term rises on any network: every step that makes the image more like the
# painting moves its relu4_2 features away from the photo's, and the optimiser accepts
# that at the exchange rate $\alpha/\beta$. Which style layer falls furthest depends on
# the weights and the images; the lines above read it off this run.

# %%
# NBVAL_CHECK_OUTPUT
print("loss terms:", ", ".join(sorted(result.history)))
print("the total loss fell by more than a third:", result.loss_drop > 1 / 3)
print("the result is an image in [0, 1]:", bool(result.image.min() >= 0 and result.image.max() <= 1))
print("same size as the photo:", result.image.shape == photo.shape)

# %% [markdown]
# ## Explore α, β and the layers
#
# Change the weights and the layers, press *Run*, and watch the image change in place.
# The explorer uses the package's default normalisation (`"relative"`: each layer's
# squared error divided by its target's sum of squares), in which $\beta = 3$ (with $\alpha = 1$)
# gives a balance like the one above: with that normalisation both terms start as
# fractions of their targets, so a $\beta$ of a few makes a style error weigh a few
# times a content error of the same relative size, a rule of thumb rather than a
# law. Try β 0.3 and 30, a shallow content layer (relu2_2, Fig. 5: at 128 px it keeps
# far more of the photo's detail than relu4_2, whose grid is 16 x 11), or the style
# layers relu1_1 and relu2_1 only (Fig. 4: the rows with the fewest style layers).

# %%
# NBVAL_IGNORE_OUTPUT
widgets.transfer_explorer(photo, style, net, settings=nst.lesson_settings(3))

# %% [markdown]
# ## Fig. 3: one photo in five styles
#
# The paper paints the Neckarfront in the styles of Turner, van Gogh, Munch, Picasso and
# Kandinsky. Here the built-in `town` takes the photo's place. Picasso's *Femme nue
# assise* (1910) is not in the public domain, so Juan Gris's *Portrait of Pablo Picasso*
# (1912), a public-domain cubist painting, takes its place. The paintings are downloaded
# once; without a network each is replaced by a built-in painting of its own, and the
# captions say so. The gallery weighs the style ten times more than the run above
# ($\alpha/\beta$ one tenth of it), so that 100 steps from the photo take each
# painting far enough to tell the five apart.

# %%
names = ["shipwreck", "starry_night", "the_scream", "portrait_of_picasso", "composition_vii"]
paintings = [nst.load_painting(name, size=settings.size) for name in names]
for name, (_, caption) in zip(names, paintings, strict=True):
    print(f"{name}: {caption}")
gallery_settings = nst.lesson_settings(3, normalization="paper", style_weight=10 * beta)
print(f"alpha/beta = {alpha / gallery_settings.beta:g} for the gallery")
layers = [*settings.content_layers, *settings.style_layers]
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=len(names))
print(f"the next cell will take about {seconds:.0f} s ({len(names)} transfers of {settings.steps} steps)")

# %% [markdown]
# **Predict.** The photo, the layers and $\alpha/\beta$ are the same for all five. What
# will the five results have in common, and what will differ?

# %%
gallery = [
    nst.transfer(photo, painting, settings=gallery_settings, net=net, progress=False) for painting, _ in paintings
]
print(f"{len(gallery)} transfers in {sum(r.seconds for r in gallery):.0f} s")

# %%
plotting.show_images(
    [photo, *(painting for painting, _ in paintings), photo, *(r.image for r in gallery)],
    ["town", *(caption.split(" (")[0] for _, caption in paintings), "", *(["in the style above"] * len(names))],
    columns=len(names) + 1,
    suptitle=f"The town in five styles (Fig. 3), α/β = {alpha / gallery_settings.beta:g} · weights: {net.weights}",
    size=2.6,
)

# %% [markdown]
# **Answer.** The layout is shared: each run starts from the photo and the content term
# holds the relu4_2 features, on any network. What differs comes from the style terms.
# From your run, for each painting: how far the result moved from the photo, and how far
# its mean colour is from the painting's, against the photo's own distance to it (mean
# absolute difference of the per-channel means).

# %%
photo_colour = photo.mean(dim=(-2, -1))
for name, (painting, _), r in zip(names, paintings, gallery, strict=True):
    painting_colour = painting.mean(dim=(-2, -1))
    before = float((photo_colour - painting_colour).abs().mean())
    after = float((r.image.mean(dim=(-2, -1)) - painting_colour).abs().mean())
    moved = float((r.image - photo).abs().mean())
    print(f"{name:20s} moved {moved:.3f} from the photo; colour distance to the painting {before:.3f} -> {after:.3f}")

# %% [markdown]
# How strongly each painting shows depends on how far its statistics are from the
# photo's, at the same $\alpha/\beta$. Read the lines above: does the painting whose
# colours are furthest from the photo's move the result furthest?

# %%
# NBVAL_CHECK_OUTPUT
print("every transfer lowered its loss:", all(r.loss_drop > 0 for r in gallery))
print("every result has the photo's size:", all(r.image.shape == photo.shape for r in gallery))

# %% [markdown]
# ## Saving a result
#
# `result.save("town-starry.png")` writes the image with the settings, the seed, the
# weights and the package versions inside the PNG, so a picture always says how it was
# made (`nst.read_metadata(path)` reads them back).
#
# ## Key points
#
# - Style transfer minimises $\alpha\,\mathcal{L}_{content} + \beta\,\mathcal{L}_{style}$
#   over the pixels; your objective and your loop reproduce the package's run.
# - The loop: one L-BFGS iteration per step, the full step tried first and a strong-Wolfe
#   line search when it does not lower the loss enough, the loss divided by its first
#   value, the pixels folded into [0, 1] rather than clamped, and a stop
#   once the loss has stopped falling.
# - $\alpha/\beta$ sets the exchange rate between content and style; its good value
#   depends on the loss normalisation and the network.
#
# **Where next?** Fig. 6 of the paper: start from white noise as the paper does
# (`nst.transfer(..., init="noise")`). Fig. 7: a small style weight and a photo as
# the style image. Run the lesson at the paper's size with `NST_COURSE_PAPER_SIZE=1`.
#
# ## Optional: how the optimiser works
#
# The skeleton of your loop makes the same choices as `nst.optimize`; here is why.
#
# - **A closure.** Gradient descent needs one loss and one gradient per step. L-BFGS
#   may need several: it proposes a direction, tries a step along it, and measures
#   again if the step was poor. So `step(closure)` calls the closure as often as it
#   needs, and returns the loss of the image the step started from (the one your loop
#   records).
# - **One iteration per step, with a line search.** Each step is one L-BFGS iteration
#   (`max_iter=1`): it tries the full step (`lr=1.0`); a strong-Wolfe line search
#   (`line_search_fn="strong_wolfe"`) keeps it when the loss falls enough and otherwise
#   tries shorter or longer steps, up to 20 more evaluations (`max_eval=21`; torch's
#   default, one evaluation in all, leaves it no room). Most steps need one trial.
#   Without the search, a step can land far uphill and the run not recover: measured in
#   `experiments/RESULTS.md`.
# - **History and tolerance.** L-BFGS keeps the last 50 steps (`history_size=50`) to
#   estimate the curvature, and never stops by itself (`tolerance_grad=0`,
#   `tolerance_change=0`): the loop decides.
# - **The first step aimed.** L-BFGS learns the curvature from its own steps, so its
#   first step is a guess. Torch's guess, a step of min(1, 1/sum|g|) along the gradient
#   g, is tiny on an image of thousands of pixels, and the line search lengthened it 4
#   times before the first picture. `nst.optimize` tries 2 · loss / |g|² instead: where a
#   parabola falling from the loss to 0 along the gradient would reach its bottom.
#   `nst.first_step_lr(loss, grad)` turns that into the `lr` to give torch for the first
#   step (your loop gives it the divided loss, 1.0, and the divided gradient); after it,
#   `lr` goes back to 1.0.
# - **The loss divided by its first value.** The paper's losses on an untrained network
#   are tiny, and torch's L-BFGS drops a curvature pair whose yᵀs is below 1e-10, a
#   fixed number: undivided, it would learn no curvature at all. Divided by `scale`, the
#   loss starts at 1.0 on any network. The closure must return the same divided loss it
#   differentiates: the line search compares values and slopes of one function.
# - **Fold, not clamp.** Many tutorials clamp the pixels to [0, 1] after each step; but a
#   clamp moves the image behind L-BFGS's back, its curvature estimates go wrong, and
#   after converging the loss jumps far above its best again and again. Measuring
#   `free.clamp(0, 1)` instead is no better: a clamp passes no gradient to a pixel outside
#   [0, 1], so it sticks there. `nst.fold(free)` mirrors the free values into [0, 1] (a
#   triangle wave; inside [0, 1] it changes nothing), so the loss sees only images in
#   range, and nothing is clamped.
# - **Stopping.** `nst.transfer` stops once the best loss has improved by less than 0.5%
#   over 20 steps (`Settings.stop_tolerance`, `stop_window`); for the comparison above it
#   ran all the steps, as your loop does.
