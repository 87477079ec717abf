//! Filter language for NXLog Platform agents.
