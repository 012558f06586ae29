#include "cputest.h"





void test_addr(void){}
void test_string(void){}
void test_control(void){}
void test_exceptions(void){}
void test_segments(void){}
void test_privilege(void){}
void callgate_target(void){}
void ring1_target(void){}
