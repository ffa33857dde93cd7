: A gate integrated with explicit (forward) Euler and a 0.1 ms time constant: stable for
: dt < 0.2 ms, it oscillates and grows without bound for a larger dt.
NEURON { SUFFIX fast
  NONSPECIFIC_CURRENT i
  RANGE tau, g }
PARAMETER { tau = 0.1 (ms)  g = 0.01 (S/cm2) }
STATE { x }
ASSIGNED { v (mV) i (mA/cm2) }
INITIAL { x = 1 }
BREAKPOINT { SOLVE states METHOD euler
  i = g * x * (v + 65) }
DERIVATIVE states { x' = (0 - x)/tau }
