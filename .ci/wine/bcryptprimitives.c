/* bcryptprimitives.dll for Wine 8.0, which lacks it: Rust's standard library (1.78 and
 * later) asks this DLL for ProcessPrng to seed its hash maps, so every Rust program fails
 * to load under Debian's Wine without it. ProcessPrng here forwards to RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has. Used by .ci/run only, to run the Windows
 * build's tests under Wine; a real Windows has the real DLL.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
