NEURON { SUFFIX bin
}
: ÿþý
