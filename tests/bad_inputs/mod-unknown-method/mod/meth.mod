NEURON { SUFFIX meth
  RANGE tau
}
PARAMETER { tau = 1 }
STATE { x }
BREAKPOINT { SOLVE states METHOD rungekutta9 }
DERIVATIVE states { x' = -x/tau }
