//! A local NXLog Platform for rehearsals and tests.
