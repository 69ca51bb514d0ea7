//! Smaller promises an attack run broke: persist over an existing file,
//! deep data, exit codes, what survives a SIGKILL.
