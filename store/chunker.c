/*
 * chunker.c - content-defined chunking: FastCDC with normalized chunking
 * (Xia et al., "FastCDC", USENIX ATC 2016, and its 2020 TPDS extension).
 *
 * The chunker is stateless: vs_chunker_next() looks at the bytes after the
 * previous cut and returns the length of the next chunk.  It rolls a gear
 * hash, fp = (fp << 1) + gear[byte], over the bytes from min to at most max
 * and cuts after the first byte where the masked bits of fp are all zero.
 *
 * Choices beyond chunker.h's design notes:
 *  - Masks take the HIGH bits of fp.  Bit k of the gear hash depends on the
 *    last k + 1 bytes only, so the top bits are the ones that see the whole
 *    64-byte window; low-bit masks would decide a cut on the last dozen or
 *    so bytes.  This replaces the paper's spread-bit masks, which exist to
 *    widen the window of a low-bit mask; the effect is the same.
 *  - With avg = 2^b, the mask before avg has b + 2 bits (cut probability
 *    2^-(b+2) per byte) and the one after avg has b - 2 bits (2^-(b-2)):
 *    normalisation level 2.  min >= 64 makes b - 2 >= 4.
 *  - Hashing starts at min with fp = 0 ("skip to min"): the bytes before min
 *    can never hold a cut, so they are not hashed at all.  A cut therefore
 *    depends only on the bytes since the previous cut.
 *  - The gear table below was generated once by splitmix64 seeded with
 *    0x76617276652d6364 ("varve-cd") and pasted as literals, so no code runs
 *    to produce it and it can never change by accident: chunk ids of existing
 *    stores depend on every bit of it.
 */
#include "chunker.h"

#include <assert.h>

#include "banned.h"

#define VS_CHUNKER_MIN_MIN 64u
#define VS_CHUNKER_MAX_MAX (16u << 20)

static const uint64_t vs_gear[256] = {
	0xa9d34db57bf0e3f4, 0xac56d5a40d4ed30d, 0xd8b1334b22458cd4,
	0xac5e404a324e3303, 0x2842f646d70ca509, 0x26e7789f98b97c63,
	0xb2f45240a0b3cd99, 0x2e8ff2ec6ebd965e, 0xde8807b5d438753b,
	0xa98fda2268c1df6f, 0xd12addcf73806e5b, 0x56182e8240f612d3,
	0x9626277c88e113e9, 0x4d19ed87320d7e40, 0x565de7a3fc3d2f62,
	0x0717e66787d994b2, 0x34ef61b3fae9521b, 0xbd31af4c364d2871,
	0xf69f20592677f941, 0x8a237623a13c7134, 0xe3f056e2bb280593,
	0xfa34bf238f8e8e98, 0x41e4527e1502663a, 0xb72063032c9c85af,
	0x282fa35b5f17309b, 0xf4099c72a929172a, 0xe44878edd99fb35e,
	0xdac408f5b4893997, 0xf93d26d3d485d33e, 0xfeee2af015c0af28,
	0x17e8c56ee48e73c1, 0x8c7a4291c5194660, 0x238a7b4842f79fa5,
	0x751610da8fd33815, 0xbb653a727eef8bda, 0xa313dcef309c84ac,
	0x2b44488e30fdeafb, 0xa486df68417194ea, 0x7d02bc76f67fa3eb,
	0x764f4aef7ddd7b68, 0x0b1d740fcb778a35, 0xd8f4d7278c8228c0,
	0x9d2d2c0ef677839d, 0x92bf4acb1fee8220, 0xfe75597c745a7615,
	0x0a84d162e6dcc9dc, 0x32d1d9327601dd95, 0x61f3059b671e7d23,
	0xc571793f09dffd8e, 0x48fad47c982807a6, 0x7056e40fd3450102,
	0xbdc5bff1b07bceb9, 0x67a57d4dc209e763, 0x11203d18917f3b21,
	0xea5d717c02606526, 0x7add5fd5b53a4b2e, 0x9468e931274f456c,
	0xc9565575dfcfb156, 0x18f9fd97412a81d7, 0x19ae4b5414609255,
	0xba0c6c4c5aa30555, 0xe42ec1c6bebaeb36, 0xe84162839d4ff617,
	0x8c2603a93bf49eb4, 0x68b0b72aea7c159a, 0x3b65de8677189c71,
	0x44dcbfc8a20a670f, 0x9a5710b0c9777cdb, 0xee255f9fc1ac0304,
	0xd5ba4848b78b3540, 0xe0341d5d7915c150, 0xdc64a8887d35a122,
	0xc042ced4b4707a1c, 0x44f8b8c4c0359d20, 0xd235285b752e4565,
	0xecdd7f83673d7e09, 0xa011b2e40e0c4fee, 0x86cae225e8db6fb0,
	0x81a1a9c83fecd145, 0x60cb0f723ceefaf4, 0x5fff2a086fc0a0db,
	0xf4ea24e586ab0a4b, 0xeb0d9124abb4cfb7, 0x966a196e939ba3cd,
	0xe0a8aacb02a54178, 0x5574b8f4953e9631, 0x8441ead83ef10831,
	0xea02cd52fd090dee, 0x4145134f185c102d, 0xba4a26b10d94b5d1,
	0x584e73e6deb6bc12, 0x5f4401b7d1cddf3f, 0xdd15bfb680ea14b3,
	0xb74b6d38395759c9, 0x6183ee364010ed45, 0x9e58125cbbeba5d0,
	0x24f0653d88407a1f, 0xba3de12ad526d1bb, 0x3a1acbc91c82eef2,
	0xe31dad5e382e4a1b, 0x1957435aa121b232, 0x6c3a8fcf731f30e7,
	0x4e61f1343b0cc6d4, 0x54b67da650787022, 0xb5f9de58f16bf422,
	0xc3416386d39e8867, 0x98fdbd2508d308cd, 0x3149d47a36652c64,
	0x693fddbf775fb722, 0x3145ed7f97ff2e5f, 0x76bc29fe6e6f8f36,
	0x8b045ce9fb6da77b, 0xc40011b758900b99, 0x14d6ee799a58c403,
	0x346c47ab68e64af8, 0x8ab2ad014fe13102, 0x189465e6380945b8,
	0x79846e923cf4e8fe, 0x852f7ccfc5414bae, 0x6e79d10c33251b20,
	0x56b179464a4eb6fe, 0x7b867fa9fc0257aa, 0x961e0d8b8671374e,
	0xe2bb19611283cfd9, 0x020413f8b4b500e5, 0x74189af07ae66363,
	0x3438d727bf5f77c6, 0x2f48859b646bad09, 0x075689bf0df2faf5,
	0x868521ee7deeef0b, 0xb3d18c51c9b15e1d, 0xa20e7df4f6d385ea,
	0xa762ef5121911e42, 0xce7d0774119cc05b, 0x36ec884633013615,
	0x3ac09d2ccc678649, 0x09924d20ad995011, 0xf3c575ebef79fd2a,
	0x828122b8200a17f6, 0x145bf756ecd034df, 0x184083834205e021,
	0x3d7cea1172e41221, 0xa843413c7108d475, 0xbea3127fed3112e4,
	0xe6b980259d85e953, 0xce9766e8b706ad19, 0x855d91ab1ee87572,
	0x5efb229637ad3a99, 0xe06f01e69892cc84, 0x8aa7ba7ecaafe962,
	0x601d8d8bafb3172f, 0xcddf454be6c9ebe1, 0x8a05ca5f332faa27,
	0x14b173653fe95049, 0x50673b41acfa8fb9, 0x67375ecff053dca9,
	0x5bdb49d8d5f693d4, 0xf7a5736b9d2cd3ae, 0x3086c4b71d42872e,
	0x568db9d52fdb2edf, 0x2c643a518161a02c, 0xb75120b066fbcee4,
	0x67bbceb1b432f900, 0xbbfd783441069f73, 0xd5813d8043a5edab,
	0xb20e9536d4d2df65, 0x829dc545afaa8ba1, 0xf25f739071eea2e0,
	0xb4d8ff1348add32d, 0xa81f7a60ba07ef30, 0x27a17994a3e4e2e6,
	0x6a8a510f1b92543d, 0x1a2e1f651e5a34ef, 0x2dfd43092648d723,
	0x6e436742cef73dc9, 0x42e3ff00178df6b3, 0x31732619f77fe9e0,
	0x547288d5bfc18d0f, 0x6339fb2a7ab8aac8, 0x5c9b60717a6c7ab2,
	0x52f97e611f9bb791, 0xd9cc5e65f64d3413, 0x8b0896946a0aaac0,
	0x300e6360c3481ca6, 0x21a1a1907b1dd977, 0x8ad0cbdc07ac86a0,
	0x87942c40be49b247, 0xd22bfc988febc654, 0xbc6674172c9ff12b,
	0xb8583f0a398f48b8, 0x9a1d0915d5d1d8bc, 0xafece1dae1ea0ace,
	0xb7e3e9398e7cee1c, 0xd1a8587bcdd0b9e6, 0xcecc73f9fb7d529f,
	0x3aee426529f657d1, 0x341a925b1aa95f00, 0x3d0e2adb7fad2b15,
	0xe1d15be429b8e26a, 0x8a1ee6afb1dfa11d, 0x4bde67afcafe389c,
	0x46e08c4f10ca2c3e, 0xd3a0666cbb14a904, 0x315622e849f0504a,
	0x9bb220f3fc49d510, 0x4700217aa6b187b9, 0xd2ba00bf9aba28e8,
	0xd18e58bf513e293d, 0x2b50fc67f491e275, 0x3350311484406f9c,
	0x0e0bd1009041d6dd, 0x5790cc6f06b0d541, 0xc20854e0714488bc,
	0x328bd38affb3fe4d, 0xb03df90f2f0c7b1e, 0x87b7ab8f8aaa82de,
	0xb1be137bea27f8d0, 0x3b29a3f7369ad041, 0xae38f79724b373ac,
	0x93e2524c1d3f374a, 0x9d0aa91cb7778608, 0x060ac09937c88e35,
	0x04bdb209288dffd0, 0x7034a7018e27fb86, 0x69b97a4a851c0e42,
	0xff434fe58e9a5fb0, 0xe201156e7d83f4b2, 0x02104d8232134756,
	0x3f219a6c006b77e0, 0x29a1d4debd6ad822, 0x9512ea5d952eceb4,
	0x364e96d750a5315a, 0x4a94013e3ad9c733, 0x4a2cdd00778b2012,
	0x6f37a479c76b395c, 0xae11b05c49dc44d1, 0x2d2b345881e4d181,
	0x4660b91ad05e9eae, 0x32e4adbf68d4a0e2, 0x63d5b7b3c2ba9a25,
	0xcfb4ac49ac19464b, 0xc6665399566bad7e, 0x4ab0c45ec8f09533,
	0xdaa733b94825d8b0, 0x78b373eeed6a2dbd, 0xf2c21df86dadd451,
	0xee3cdfcdd7cb410a, 0x98c177a7fa72998f, 0x185aa25a1c218cd7,
	0x8cf7cff9da943b4e, 0x10e534a5f0bc1d85, 0x8fba0821bbc38f8e,
	0xe0caf6b443bea029, 0x6b18c3b708d454b4, 0x68582ecc6a3753e6,
	0xa65180dc4597a07e,
};

static bool vs_is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static unsigned vs_log2(uint32_t v)
{
	unsigned n = 0;

	while (v >>= 1)
		n++;
	return n;
}

bool vs_chunker_params_valid(const struct vs_chunker_params *p)
{
	return vs_is_pow2(p->min) && vs_is_pow2(p->avg) &&
	       vs_is_pow2(p->max) && p->min >= VS_CHUNKER_MIN_MIN &&
	       p->min <= p->avg && p->avg <= p->max && p->min < p->max &&
	       p->max <= VS_CHUNKER_MAX_MAX;
}

size_t vs_chunker_next(const struct vs_chunker_params *p, const uint8_t *data,
		       size_t len)
{
	unsigned bits = vs_log2(p->avg);
	/* Strict mask before avg, loose mask after: see the notes above. */
	uint64_t mask_s = ~(uint64_t)0 << (64 - (bits + 2));
	uint64_t mask_l = ~(uint64_t)0 << (64 - (bits - 2));
	size_t end = len < p->max ? len : p->max;
	size_t normal = p->avg < end ? p->avg : end;
	uint64_t fp = 0;
	size_t i;

	assert(vs_chunker_params_valid(p));
	if (len <= p->min)
		return len;
	for (i = p->min; i < normal; i++) {
		fp = (fp << 1) + vs_gear[data[i]];
		if (!(fp & mask_s))
			return i + 1;
	}
	for (; i < end; i++) {
		fp = (fp << 1) + vs_gear[data[i]];
		if (!(fp & mask_l))
			return i + 1;
	}
	return end;
}
