: tau = 0 makes the steady state 0/0 and the current NaN once the run starts.
NEURON { SUFFIX divzero
  NONSPECIFIC_CURRENT i
  RANGE tau }
PARAMETER { tau = 0 (ms) }
STATE { x }
ASSIGNED { v i }
BREAKPOINT { SOLVE states METHOD cnexp
  i = 0.001 * x * (v + 65) }
DERIVATIVE states { x' = (1 - x)/tau }
