/**
 * Models and their parameters. This release has the parameter arena; the layers and the
 * ResNet/VGG/WRN models come with the training issue.
 * @module
 */
export { ParameterArena } from "./params.ts";
export type { Parameter } from "./params.ts";
