NEURON { SUFFIX nob
  RANGE tau
}
PARAMETER { tau = 1 }
STATE { x }
BREAKPOINT { SOLVE nothere METHOD cnexp }
DERIVATIVE states { x' = -x/tau }
