# Writes the README's five-minute tour into dir=DIR: its first plain ```
# block (the schema) to DIR/hello.soa, its ```c block (the program) to
# DIR/main.c.  awk -v dir=DIR -f tests/readme_tour.awk README.md
/^## A five-minute tour/ { t = 1 }
/^# Reference/ { t = 0 }
t && /^```$/ && !s && !inb { inb = 1; s = 1; next }
t && /^```c$/ && !c { inc = 1; c = 1; next }
/^```/ { inb = 0; inc = 0; next }
inb { print > (dir "/hello.soa") }
inc { print > (dir "/main.c") }
