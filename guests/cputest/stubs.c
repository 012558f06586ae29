#include "cputest.h"








void test_exceptions(void){}
void test_segments(void){}
void test_privilege(void){}
void callgate_target(void){}
void ring1_target(void){}
