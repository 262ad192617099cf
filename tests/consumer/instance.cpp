// The one file of the consumer that compiles the library's float classes: main.cpp includes
// <xkeras/extern_templates.hpp>, which leaves them to this file.
#include <xkeras/instantiate.hpp>
