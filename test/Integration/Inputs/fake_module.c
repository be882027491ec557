/* A shared object posing as a quant module with the module info given by
 * -DINFO=...: tests the runtime's format/version/target checks. */
const char *qc_module_info(void) { return INFO; }
void qc_entry_f(void **args) { (void)args; }
