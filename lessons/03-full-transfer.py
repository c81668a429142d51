# %% [markdown]
# # 03 · The full transfer: content plus style
#
# Put lessons 01 and 02 together (Fig. 2 of the paper): take the content target $P^l$
# from a photo at conv4_2, the style targets $A^l$ (Gram matrices) from a painting at
# conv1_1 ... conv5_1, start from an image and minimise (eq. 7)
#
# $$\mathcal{L}_{total} = \alpha\, \mathcal{L}_{content} + \beta\, \mathcal{L}_{style}.$$
#
# The paper starts from white noise; the package starts from the photo
# (`settings.init == "content"`, as in the authors' own code), which shows the layout at
# once on a CPU. Fig. 6 of the paper shows that the start changes little.
#
# No image can match both exactly, so $\alpha / \beta$ decides the balance: more
# style gives more of the painting's colours and strokes, more content keeps the photo
# recognisable (Fig. 4).

# %%
import nst_course as nst
from nst_course import plotting, widgets

settings = nst.lesson_settings(3)
net = nst.load_vgg19()
photo = nst.load_image("town", size=settings.size)
style, style_caption = nst.load_painting("starry_night", size=settings.size)
print("weights:", net.weights)
print("style image:", style_caption)
print(f"size: {photo.shape[-2]} x {photo.shape[-1]} px; {settings.steps} L-BFGS steps per image")
print(f"content layers {settings.content_layers}, style layers {settings.style_layers}")
print(f"start image: {settings.init}")
print(f"alpha (content_weight) = {settings.content_weight}, beta (style_weight) = {settings.beta}")

# %% [markdown]
# **About alpha and beta.** The paper's ratios ($\alpha/\beta$ = 1e-3 and so on, Fig. 3)
# belong to its own loss scales (eq. 1 and 4) and its rescaled network. This package
# divides every layer's loss by the size of its target (`normalization="relative"`),
# so each term starts near 1 and `style_weight = 3` simply means "the style counts three
# times as much as the content", with trained or untrained weights alike. If the
# weights say *random*, the network is untrained: the pictures show the method, not the
# paper's results.
#
# ## One transfer, with its losses
#
# `nst.transfer` builds the objective and runs the optimiser. First, how long it takes:

# %%
layers = [*settings.content_layers, *settings.style_layers]
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps)
print(f"the next cell will take about {seconds:.0f} s ({settings.steps} steps)")

# %%
result = nst.transfer(photo, style, settings=settings, net=net)
print(f"loss fell to {100 * (1 - result.loss_drop):.2g}% of its start in {result.seconds:.0f} s")
print(f"the best image was at step {result.best_step} of {result.steps_done}")

# %%
plotting.show_images(
    [photo, style, result.image],
    [
        "content: town",
        f"style: {style_caption}",
        f"result, beta/alpha = {settings.beta / settings.content_weight:g}",
    ],
    suptitle=f"Style transfer (Fig. 2) · weights: {net.weights}",
    size=3.5,
)

# %% [markdown]
# Every term of the loss is recorded at every step, already multiplied by its weight.
# The curves show which layers the optimiser satisfies first and which it trades off.

# %%
plotting.plot_losses(result.history, title=f"Loss per term · weights: {net.weights}")

# %%
# NBVAL_CHECK_OUTPUT
print("loss terms:", ", ".join(sorted(result.history)))
print("the total loss fell by more than 50%:", result.loss_drop > 0.5)
print("the result is an image in [0, 1]:", bool(result.image.min() >= 0 and result.image.max() <= 1))
print("same size as the photo:", result.image.shape == photo.shape)

# %% [markdown]
# ## Explore alpha, beta and the layers
#
# Change the weights and the layers, press *Run*, and watch the image change in place.
# Try `style_weight` 0.3 and 30, a shallow content layer (conv2_2, Fig. 5), or the
# style layers conv1_1 and conv2_1 only (Fig. 4, top rows).

# %%
# NBVAL_IGNORE_OUTPUT
widgets.transfer_explorer(photo, style, net, settings=settings)

# %% [markdown]
# ## Fig. 3: one photo in five styles
#
# The paper paints the Neckarfront in the styles of Turner, van Gogh, Munch, Picasso and
# Kandinsky. Here the built-in `town` takes the photo's place. Picasso's *Femme nue
# assise* (1910) is not in the public domain, so Juan Gris's *Portrait of Pablo Picasso*
# (1912), a public-domain cubist painting, takes its place. The paintings are downloaded
# once; without a network each is replaced by a built-in painting, and the captions
# say so.

# %%
names = ["shipwreck", "starry_night", "the_scream", "portrait_of_picasso", "composition_vii"]
paintings = [nst.load_painting(name, size=settings.size) for name in names]
for name, (_, caption) in zip(names, paintings, strict=True):
    print(f"{name}: {caption}")
seconds = nst.estimate_seconds(net, photo, layers=layers, steps=settings.steps, runs=len(names))
print(f"the next cell will take about {seconds:.0f} s ({len(names)} transfers of {settings.steps} steps)")

# %%
gallery = [nst.transfer(photo, painting, settings=settings, net=net, progress=False) for painting, _ in paintings]
print(f"{len(gallery)} transfers in {sum(r.seconds for r in gallery):.0f} s")

# %%
plotting.show_images(
    [photo, *(painting for painting, _ in paintings), photo, *(r.image for r in gallery)],
    ["town", *(caption.split(" (")[0] for _, caption in paintings), "", *(["in the style above"] * len(names))],
    columns=len(names) + 1,
    suptitle=f"The town in five styles (Fig. 3) · weights: {net.weights}",
    size=2.6,
)

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
# **Where next?** Fig. 6 of the paper: start from white noise as the paper does
# (`nst.transfer(..., init="noise")`). Fig. 7: a small `style_weight` and a photo as
# the style image.
