//! SONATA model directories.
