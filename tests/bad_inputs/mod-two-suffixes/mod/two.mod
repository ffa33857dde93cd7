NEURON {
  SUFFIX first
  SUFFIX second
}
