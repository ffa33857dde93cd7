NEURON { SUFFIX xyzc
  USEION xyz READ exyz WRITE ixyz
  RANGE g
}
PARAMETER { g = 1 }
ASSIGNED { v exyz ixyz }
BREAKPOINT { ixyz = g * (v - exyz) }
