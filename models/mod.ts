/**
 * Models as pure functions of explicit parameters: the toy valley of Figure 4(a), the float64
 * problems of the theory checks (theory/), the image
 * models (MLP, reference CNN, CIFAR ResNets, WRN-16-8, VGG-16-BN) with their building blocks,
 * the registry, and the losses.
 *
 * @module
 */
export * from "./toy_valley.ts";
export * from "./theory/mod.ts";
export * from "./layers.ts";
export * from "./loss.ts";
export * from "./mlp.ts";
export * from "./cnn.ts";
export * from "./resnet.ts";
export * from "./wrn.ts";
export * from "./vgg.ts";
export * from "./registry.ts";
