NEURON { SUFFIX broken
  RANGE g
}
PARAMETER { g = 1 }
BREAKPOINT { g = (1 + }
