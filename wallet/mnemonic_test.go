package wallet

import (
	"bytes"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The English test vectors of BIP-39's reference implementation, Trezor's
// python-mnemonic (vectors.json), all 24 of them: entropy, mnemonic, and
// the seed with the passphrase "TREZOR". Copied from the file by a script
// rather than by hand.
var bip39Vectors = []struct {
	entropy, mnemonic, seed string
}{
	{"00000000000000000000000000000000",
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
		"c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"},
	{"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
		"legal winner thank year wave sausage worth useful legal winner thank yellow",
		"2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607"},
	{"80808080808080808080808080808080",
		"letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
		"d71de856f81a8acc65e6fc851a38d4d7ec216fd0796d0a6827a3ad6ed5511a30fa280f12eb2e47ed2ac03b5c462a0358d18d69fe4f985ec81778c1b370b652a8"},
	{"ffffffffffffffffffffffffffffffff",
		"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
		"ac27495480225222079d7be181583751e86f571027b0497b5b5d11218e0a8a13332572917f0f8e5a589620c6f15b11c61dee327651a14c34e18231052e48c069"},
	{"000000000000000000000000000000000000000000000000",
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon agent",
		"035895f2f481b1b0f01fcf8c289c794660b289981a78f8106447707fdd9666ca06da5a9a565181599b79f53b844d8a71dd9f439c52a3d7b3e8a79c906ac845fa"},
	{"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
		"legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal will",
		"f2b94508732bcbacbcc020faefecfc89feafa6649a5491b8c952cede496c214a0c7b3c392d168748f2d4a612bada0753b52a1c7ac53c1e93abd5c6320b9e95dd"},
	{"808080808080808080808080808080808080808080808080",
		"letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter always",
		"107d7c02a5aa6f38c58083ff74f04c607c2d2c0ecc55501dadd72d025b751bc27fe913ffb796f841c49b1d33b610cf0e91d3aa239027f5e99fe4ce9e5088cd65"},
	{"ffffffffffffffffffffffffffffffffffffffffffffffff",
		"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo when",
		"0cd6e5d827bb62eb8fc1e262254223817fd068a74b5b449cc2f667c3f1f985a76379b43348d952e2265b4cd129090758b3e3c2c49103b5051aac2eaeb890a528"},
	{"0000000000000000000000000000000000000000000000000000000000000000",
		"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
		"bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8"},
	{"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
		"legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title",
		"bc09fca1804f7e69da93c2f2028eb238c227f2e9dda30cd63699232578480a4021b146ad717fbb7e451ce9eb835f43620bf5c514db0f8add49f5d121449d3e87"},
	{"8080808080808080808080808080808080808080808080808080808080808080",
		"letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless",
		"c0c519bd0e91a2ed54357d9d1ebef6f5af218a153624cf4f2da911a0ed8f7a09e2ef61af0aca007096df430022f7a2b6fb91661a9589097069720d015e4e982f"},
	{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
		"dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad"},
	{"9e885d952ad362caeb4efe34a8e91bd2",
		"ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic",
		"274ddc525802f7c828d8ef7ddbcdc5304e87ac3535913611fbbfa986d0c9e5476c91689f9c8a54fd55bd38606aa6a8595ad213d4c9c9f9aca3fb217069a41028"},
	{"6610b25967cdcca9d59875f5cb50b0ea75433311869e930b",
		"gravity machine north sort system female filter attitude volume fold club stay feature office ecology stable narrow fog",
		"628c3827a8823298ee685db84f55caa34b5cc195a778e52d45f59bcf75aba68e4d7590e101dc414bc1bbd5737666fbbef35d1f1903953b66624f910feef245ac"},
	{"68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
		"hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy gospel tennis maple dilemma loan word shrug inflict delay length",
		"64c87cde7e12ecf6704ab95bb1408bef047c22db4cc7491c4271d170a1b213d20b385bc1588d9c7b38f1b39d415665b8a9030c9ec653d75e65f847d8fc1fc440"},
	{"c0ba5a8e914111210f2bd131f3d5e08d",
		"scheme spot photo card baby mountain device kick cradle pact join borrow",
		"ea725895aaae8d4c1cf682c1bfd2d358d52ed9f0f0591131b559e2724bb234fca05aa9c02c57407e04ee9dc3b454aa63fbff483a8b11de949624b9f1831a9612"},
	{"6d9be1ee6ebd27a258115aad99b7317b9c8d28b6d76431c3",
		"horn tenant knee talent sponsor spell gate clip pulse soap slush warm silver nephew swap uncle crack brave",
		"fd579828af3da1d32544ce4db5c73d53fc8acc4ddb1e3b251a31179cdb71e853c56d2fcb11aed39898ce6c34b10b5382772db8796e52837b54468aeb312cfc3d"},
	{"9f6a2878b2520799a44ef18bc7df394e7061a224d2c33cd015b157d746869863",
		"panda eyebrow bullet gorilla call smoke muffin taste mesh discover soft ostrich alcohol speed nation flash devote level hobby quick inner drive ghost inside",
		"72be8e052fc4919d2adf28d5306b5474b0069df35b02303de8c1729c9538dbb6fc2d731d5f832193cd9fb6aeecbc469594a70e3dd50811b5067f3b88b28c3e8d"},
	{"23db8160a31d3e0dca3688ed941adbf3",
		"cat swing flag economy stadium alone churn speed unique patch report train",
		"deb5f45449e615feff5640f2e49f933ff51895de3b4381832b3139941c57b59205a42480c52175b6efcffaa58a2503887c1e8b363a707256bdd2b587b46541f5"},
	{"8197a4a47f0425faeaa69deebc05ca29c0a5b5cc76ceacc0",
		"light rule cinnamon wrap drastic word pride squirrel upgrade then income fatal apart sustain crack supply proud access",
		"4cbdff1ca2db800fd61cae72a57475fdc6bab03e441fd63f96dabd1f183ef5b782925f00105f318309a7e9c3ea6967c7801e46c8a58082674c860a37b93eda02"},
	{"066dca1a2bb7e8a1db2832148ce9933eea0f3ac9548d793112d9a95c9407efad",
		"all hour make first leader extend hole alien behind guard gospel lava path output census museum junior mass reopen famous sing advance salt reform",
		"26e975ec644423f4a4c4f4215ef09b4bd7ef924e85d1d17c4cf3f136c2863cf6df0a475045652c57eb5fb41513ca2a2d67722b77e954b4b3fc11f7590449191d"},
	{"f30f8c1da665478f49b001d94c5fc452",
		"vessel ladder alter error federal sibling chat ability sun glass valve picture",
		"2aaa9242daafcee6aa9d7269f17d4efe271e1b9a529178d7dc139cd18747090bf9d60295d0ce74309a78852a9caadf0af48aae1c6253839624076224374bc63f"},
	{"c10ec20dc3cd9f652c7fac2f1230f7a3c828389a14392f05",
		"scissors invite lock maple supreme raw rapid void congress muscle digital elegant little brisk hair mango congress clump",
		"7b4a10be9d98e6cba265566db7f136718e1398c71cb581e1b2f464cac1ceedf4f3e274dc270003c670ad8d02c4558b2f8e39edea2775c9e232c7cb798b069e88"},
	{"f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
		"void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold",
		"01f5bced59dec48e362f2c45b5de68b9fd6c92c6634f44d6d40aab69056506f0e35524a518034ddc1192e1dacd32c1ed3eaa3c3b131c88ed8e7e54c49a5d0998"},
}

func TestBIP39Vectors(t *testing.T) {
	counts := map[int]int{}
	for _, v := range bip39Vectors {
		words := strings.Fields(v.mnemonic)
		counts[len(words)]++
		t.Run(fmt.Sprintf("%d words %.8s", len(words), v.entropy), func(t *testing.T) {
			entropy := mustHex(t, v.entropy)
			m, err := MnemonicFromEntropy(entropy)
			if err != nil {
				t.Fatal(err)
			}
			if m.Phrase() != v.mnemonic {
				t.Errorf("entropy → words:\n got %s\nwant %s", m.Phrase(), v.mnemonic)
			}
			if got := hex.EncodeToString(m.Seed([]byte("TREZOR"))); got != v.seed {
				t.Errorf("seed %s, want %s", got, v.seed)
			}
			p, err := ParseMnemonic(v.mnemonic)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Entropy(), entropy) {
				t.Errorf("words → entropy %x, want %s", p.Entropy(), v.entropy)
			}
			// The same words as a person might type them.
			messy := "  " + strings.ToUpper(words[0]) + "\t\n" + strings.Join(words[1:], "   ") + "\r\n"
			if p, err := ParseMnemonic(messy); err != nil || !bytes.Equal(p.Entropy(), entropy) {
				t.Errorf("%q: %v", messy, err)
			} else if got := hex.EncodeToString(p.Seed([]byte("TREZOR"))); got != v.seed {
				t.Errorf("messy input: seed %s, want %s", got, v.seed)
			}
		})
	}
	if counts[12] == 0 || counts[18] == 0 || counts[24] < 8 {
		t.Errorf("word counts covered: %v", counts)
	}
}

// The test cases of Stellar's SEP-0005, which derives ed25519 keys from
// BIP-39 mnemonics by SLIP-0010 at m/44'/148'/x', the shape of cairn's
// m/44'/7731'/N'. Each gives the mnemonic, the BIP-39 passphrase (test 4
// only), the BIP-39 seed, the key of m/44'/148' and the Stellar public
// (G…) and secret (S…) keys of accounts 0 to 9. Copied from the spec's
// text by a script.
var sep5Vectors = []struct {
	name       string
	mnemonic   string
	passphrase string
	seed       string
	coinKey    string
	accounts   [][2]string
}{
	{
		name:       "test 1",
		mnemonic:   "illness spike retreat truth genius clock brain pass fit cave bargain toe",
		passphrase: "",
		seed:       "e4a5a632e70943ae7f07659df1332160937fad82587216a4c64315a0fb39497ee4a01f76ddab4cba68147977f3a147b6ad584c41808e8238a07f6cc4b582f186",
		coinKey:    "e0eec84fe165cd427cb7bc9b6cfdef0555aa1cb6f9043ff1fe986c3c8ddd22e3",
		accounts: [][2]string{
			{"GDRXE2BQUC3AZNPVFSCEZ76NJ3WWL25FYFK6RGZGIEKWE4SOOHSUJUJ6", "SBGWSG6BTNCKCOB3DIFBGCVMUPQFYPA2G4O34RMTB343OYPXU5DJDVMN"},
			{"GBAW5XGWORWVFE2XTJYDTLDHXTY2Q2MO73HYCGB3XMFMQ562Q2W2GJQX", "SCEPFFWGAG5P2VX5DHIYK3XEMZYLTYWIPWYEKXFHSK25RVMIUNJ7CTIS"},
			{"GAY5PRAHJ2HIYBYCLZXTHID6SPVELOOYH2LBPH3LD4RUMXUW3DOYTLXW", "SDAILLEZCSA67DUEP3XUPZJ7NYG7KGVRM46XA7K5QWWUIGADUZCZWTJP"},
			{"GAOD5NRAEORFE34G5D4EOSKIJB6V4Z2FGPBCJNQI6MNICVITE6CSYIAE", "SBMWLNV75BPI2VB4G27RWOMABVRTSSF7352CCYGVELZDSHCXWCYFKXIX"},
			{"GBCUXLFLSL2JE3NWLHAWXQZN6SQC6577YMAU3M3BEMWKYPFWXBSRCWV4", "SCPCY3CEHMOP2TADSV2ERNNZBNHBGP4V32VGOORIEV6QJLXD5NMCJUXI"},
			{"GBRQY5JFN5UBG5PGOSUOL4M6D7VRMAYU6WW2ZWXBMCKB7GPT3YCBU2XZ", "SCK27SFHI3WUDOEMJREV7ZJQG34SCBR6YWCE6OLEXUS2VVYTSNGCRS6X"},
			{"GBY27SJVFEWR3DUACNBSMJB6T4ZPR4C7ZXSTHT6GMZUDL23LAM5S2PQX", "SDJ4WDPOQAJYR3YIAJOJP3E6E4BMRB7VZ4QAEGCP7EYVDW6NQD3LRJMZ"},
			{"GAY7T23Z34DWLSTEAUKVBPHHBUE4E3EMZBAQSLV6ZHS764U3TKUSNJOF", "SA3HXJUCE2N27TBIZ5JRBLEBF3TLPQEBINP47E6BTMIWW2RJ5UKR2B3L"},
			{"GDJTCF62UUYSAFAVIXHPRBR4AUZV6NYJR75INVDXLLRZLZQ62S44443R", "SCD5OSHUUC75MSJG44BAT3HFZL2HZMMQ5M4GPDL7KA6HJHV3FLMUJAME"},
			{"GBTVYYDIYWGUQUTKX6ZMLGSZGMTESJYJKJWAATGZGITA25ZB6T5REF44", "SCJGVMJ66WAUHQHNLMWDFGY2E72QKSI3XGSBYV6BANDFUFE7VY4XNXXR"},
		},
	},
	{
		name:       "test 2",
		mnemonic:   "resource asthma orphan phone ice canvas fire useful arch jewel impose vague theory cushion top",
		passphrase: "",
		seed:       "7b36d4e725b48695c3ffd2b4b317d5552cb157c1a26c46d36a05317f0d3053eb8b3b6496ba39ebd9312d10e3f9937b47a6790541e7c577da027a564862e92811",
		coinKey:    "2e5d4e6b54a4b96c5e887c9ec92f619a3c134d8b1059dcef15c1a9b228ae3751",
		accounts: [][2]string{
			{"GAVXVW5MCK7Q66RIBWZZKZEDQTRXWCZUP4DIIFXCCENGW2P6W4OA34RH", "SAKS7I2PNDBE5SJSUSU2XLJ7K5XJ3V3K4UDFAHMSBQYPOKE247VHAGDB"},
			{"GDFCYVCICATX5YPJUDS22KM2GW5QU2KKSPPPT2IC5AQIU6TP3BZSLR5K", "SAZ2H5GLAVWCUWNPQMB6I3OHRI63T2ACUUAWSH7NAGYYPXGIOPLPW3Q4"},
			{"GAUA3XK3SGEQFNCBM423WIM5WCZ4CR4ZDPDFCYSFLCTODGGGJMPOHAAE", "SDVSSLPL76I33DKAI4LFTOAKCHJNCXUERGPCMVFT655Z4GRLWM6ZZTSC"},
			{"GAH3S77QXTAPZ77REY6LGFIJ2XWVXFOKXHCFLA6HQTL3POLVZJDHHUDM", "SCH56YSGOBYVBC6DO3ZI2PY62GBVXT4SEJSXJOBQYGC2GCEZSB5PEVBZ"},
			{"GCSCZVGV2Y3EQ2RATJ7TE6PVWTW5OH5SMG754AF6W6YM3KJF7RMNPB4Y", "SBWBM73VUNBGBMFD4E2BA7Q756AKVEAAVTQH34RYEUFD6X64VYL5KXQ2"},
			{"GDKWYAJE3W6PWCXDZNMFNFQSPTF6BUDANE6OVRYMJKBYNGL62VKKCNCC", "SAVS4CDQZI6PSA5DPCC42S5WLKYIPKXPCJSFYY4N3VDK25T2XX2BTGVX"},
			{"GCDTVB4XDLNX22HI5GUWHBXJFBCPB6JNU6ZON7E57FA3LFURS74CWDJH", "SDFC7WZT3GDQVQUQMXN7TC7UWDW5E3GSMFPHUT2TSTQ7RKWTRA4PLBAL"},
			{"GBTDPL5S4IOUQHDLCZ7I2UXJ2TEHO6DYIQ3F2P5OOP3IS7JSJI4UMHQJ", "SA6UO2FIYC6AS2MSDECLR6F7NKCJTG67F7R4LV2GYB4HCZYXJZRLPOBB"},
			{"GD3KWA24OIM7V3MZKDAVSLN3NBHGKVURNJ72ZCTAJSDTF7RIGFXPW5FQ", "SBDNHDDICLLMBIDZ2IF2D3LH44OVUGGAVHQVQ6BZQI5IQO6AB6KNJCOV"},
			{"GB3C6RRQB3V7EPDXEDJCMTS45LVDLSZQ46PTIGKZUY37DXXEOAKJIWSV", "SDHRG2J34MGDAYHMOVKVJC6LX2QZMCTIKRO5I4JQ6BJQ36KVL6QUTT72"},
		},
	},
	{
		name:       "test 3",
		mnemonic:   "bench hurt jump file august wise shallow faculty impulse spring exact slush thunder author capable act festival slice deposit sauce coconut afford frown better",
		passphrase: "",
		seed:       "937ae91f6ab6f12461d9936dfc1375ea5312d097f3f1eb6fed6a82fbe38c85824da8704389831482db0433e5f6c6c9700ff1946aa75ad8cc2654d6e40f567866",
		coinKey:    "df474e0dc2711089b89af6b089aceeb77e73120e9f895bd330a36fa952835ea8",
		accounts: [][2]string{
			{"GC3MMSXBWHL6CPOAVERSJITX7BH76YU252WGLUOM5CJX3E7UCYZBTPJQ", "SAEWIVK3VLNEJ3WEJRZXQGDAS5NVG2BYSYDFRSH4GKVTS5RXNVED5AX7"},
			{"GB3MTYFXPBZBUINVG72XR7AQ6P2I32CYSXWNRKJ2PV5H5C7EAM5YYISO", "SBKSABCPDWXDFSZISAVJ5XKVIEWV4M5O3KBRRLSPY3COQI7ZP423FYB4"},
			{"GDYF7GIHS2TRGJ5WW4MZ4ELIUIBINRNYPPAWVQBPLAZXC2JRDI4DGAKU", "SD5CCQAFRIPB3BWBHQYQ5SC66IB2AVMFNWWPBYGSUXVRZNCIRJ7IHESQ"},
			{"GAFLH7DGM3VXFVUID7JUKSGOYG52ZRAQPZHQASVCEQERYC5I4PPJUWBD", "SBSGSAIKEF7JYQWQSGXKB4SRHNSKDXTEI33WZDRR6UHYQCQ5I6ZGZQPK"},
			{"GAXG3LWEXWCAWUABRO6SMAEUKJXLB5BBX6J2KMHFRIWKAMDJKCFGS3NN", "SBIZH53PIRFTPI73JG7QYA3YAINOAT2XMNAUARB3QOWWVZVBAROHGXWM"},
			{"GA6RUD4DZ2NEMAQY4VZJ4C6K6VSEYEJITNSLUQKLCFHJ2JOGC5UCGCFQ", "SCVM6ZNVRUOP4NMCMMKLTVBEMAF2THIOMHPYSSMPCD2ZU7VDPARQQ6OY"},
			{"GCUDW6ZF5SCGCMS3QUTELZ6LSAH6IVVXNRPRLAUNJ2XYLCA7KH7ZCVQS", "SBSHUZQNC45IAIRSAHMWJEJ35RY7YNW6SMOEBZHTMMG64NKV7Y52ZEO2"},
			{"GBJ646Q524WGBN5X5NOAPIF5VQCR2WZCN6QZIDOSY6VA2PMHJ2X636G4", "SC2QO2K2B4EBNBJMBZIKOYSHEX4EZAZNIF4UNLH63AQYV6BE7SMYWC6E"},
			{"GDHX4LU6YBSXGYTR7SX2P4ZYZSN24VXNJBVAFOB2GEBKNN3I54IYSRM4", "SCGMC5AHAAVB3D4JXQPCORWW37T44XJZUNPEMLRW6DCOEARY3H5MAQST"},
			{"GDXOY6HXPIDT2QD352CH7VWX257PHVFR72COWQ74QE3TEV4PK2KCKZX7", "SCPA5OX4EYINOPAUEQCPY6TJMYICUS5M7TVXYKWXR3G5ZRAJXY3C37GF"},
		},
	},
	{
		name:       "test 4",
		mnemonic:   "cable spray genius state float twenty onion head street palace net private method loan turn phrase state blanket interest dry amazing dress blast tube",
		passphrase: "p4ssphr4se",
		seed:       "d425d39998fb42ce4cf31425f0eaec2f0a68f47655ea030d6d26e70200d8ff8bd4326b4bdf562ea8640a1501ae93ccd0fd7992116da5dfa24900e570a742a489",
		coinKey:    "c83c61dc97d37832f0f20e258c3ba4040a258800fd14abaff124a4dee114b17e",
		accounts: [][2]string{
			{"GDAHPZ2NSYIIHZXM56Y36SBVTV5QKFIZGYMMBHOU53ETUSWTP62B63EQ", "SAFWTGXVS7ELMNCXELFWCFZOPMHUZ5LXNBGUVRCY3FHLFPXK4QPXYP2X"},
			{"GDY47CJARRHHL66JH3RJURDYXAMIQ5DMXZLP3TDAUJ6IN2GUOFX4OJOC", "SBQPDFUGLMWJYEYXFRM5TQX3AX2BR47WKI4FDS7EJQUSEUUVY72MZPJF"},
			{"GCLAQF5H5LGJ2A6ACOMNEHSWYDJ3VKVBUBHDWFGRBEPAVZ56L4D7JJID", "SAF2LXRW6FOSVQNC4HHIIDURZL4SCGCG7UEGG23ZQG6Q2DKIGMPZV6BZ"},
			{"GBC36J4KG7ZSIQ5UOSJFQNUP4IBRN6LVUFAHQWT2ODEQ7Y3ASWC5ZN3B", "SDCCVBIYZDMXOR4VPC3IYMIPODNEDZCS44LDN7B5ZWECIE57N3BTV4GQ"},
			{"GA6NHA4KPH5LFYD6LZH35SIX3DU5CWU3GX6GCKPJPPTQCCQPP627E3CB", "SA5TRXTO7BG2Z6QTQT3O2LC7A7DLZZ2RBTGUNCTG346PLVSSHXPNDVNT"},
			{"GBOWMXTLABFNEWO34UJNSJJNVEF6ESLCNNS36S5SX46UZT2MNYJOLA5L", "SDEOED2KPHV355YNOLLDLVQB7HDPQVIGKXCAJMA3HTM4325ZHFZSKKUC"},
			{"GBL3F5JUZN3SQKZ7SL4XSXEJI2SNSVGO6WZWNJLG666WOJHNDDLEXTSZ", "SDYNO6TLFNV3IM6THLNGUG5FII4ET2H7NH3KCT6OAHIUSHKR4XBEEI6A"},
			{"GA5XPPWXL22HFFL5K5CE37CEPUHXYGSP3NNWGM6IK6K4C3EFHZFKSAND", "SDXMJXAY45W3WEFWMYEPLPIF4CXAD5ECQ37XKMGY5EKLM472SSRJXCYD"},
			{"GDS5I7L7LWFUVSYVAOHXJET2565MGGHJ4VHGVJXIKVKNO5D4JWXIZ3XU", "SAIZA26BUP55TDCJ4U7I2MSQEAJDPDSZSBKBPWQTD5OQZQSJAGNN2IQB"},
			{"GBOSMFQYKWFDHJWCMCZSMGUMWCZOM4KFMXXS64INDHVCJ2A2JAABCYRR", "SDXDYPDNRMGOF25AWYYKPHFAD3M54IT7LCLG7RWTGR3TS32A4HTUXNOS"},
		},
	},
	{
		name:       "test 5",
		mnemonic:   "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
		passphrase: "",
		seed:       "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4",
		coinKey:    "03df7921b4f789040e361d07d5e4eddad277c376350d7b5d585400a0ef18f2f5",
		accounts: [][2]string{
			{"GB3JDWCQJCWMJ3IILWIGDTQJJC5567PGVEVXSCVPEQOTDN64VJBDQBYX", "SBUV3MRWKNS6AYKZ6E6MOUVF2OYMON3MIUASWL3JLY5E3ISDJFELYBRZ"},
			{"GDVSYYTUAJ3ACHTPQNSTQBDQ4LDHQCMNY4FCEQH5TJUMSSLWQSTG42MV", "SCHDCVCWGAKGIMTORV6K5DYYV3BY4WG3RA4M6MCBGJLHUCWU2MC6DL66"},
			{"GBFPWBTN4AXHPWPTQVQBP4KRZ2YVYYOGRMV2PEYL2OBPPJDP7LECEVHR", "SAPLVTLUXSDLFRDGCCFLPDZMTCEVMP3ZXTM74EBJCVKZKM34LGQPF7K3"},
			{"GCCCOWAKYVFY5M6SYHOW33TSNC7Z5IBRUEU2XQVVT34CIZU7CXZ4OQ4O", "SDQYXOP2EAUZP4YOEQ5BUJIQ3RDSP5XV4ZFI6C5Y3QCD5Y63LWPXT7PW"},
			{"GCQ3J35MKPKJX7JDXRHC5YTXTULFMCBMZ5IC63EDR66QA3LO7264ZL7Q", "SCT7DUHYZD6DRCETT6M73GWKFJI4D56P3SNWNWNJ7ANLJZS6XIFYYXSB"},
			{"GDTA7622ZA5PW7F7JL7NOEFGW62M7GW2GY764EQC2TUJ42YJQE2A3QUL", "SDTWG5AFDI6GRQNLPWOC7IYS7AKOGMI2GX4OXTBTZHHYPMNZ2PX4ONWU"},
			{"GD7A7EACTPTBCYCURD43IEZXGIBCEXNBHN3OFWV2FOX67XKUIGRCTBNU", "SDJMWY4KFRS4PTA5WBFVCPS2GKYLXOMCLQSBNEIBG7KRGHNQOM25KMCP"},
			{"GAF4AGPVLQXFKEWQV3DZU5YEFU6YP7XJHAEEQH4G3R664MSF77FLLRK3", "SDOJH5JRCNGT57QTPTJEQGBEBZJPXE7XUDYDB24VTOPP7PH3ALKHAHFG"},
			{"GABTYCZJMCP55SS6I46SR76IHETZDLG4L37MLZRZKQDGBLS5RMP65TSX", "SC6N6GYQ2VA4T7CUP2BWGBRT2P6L2HQSZIUNQRHNDLISF6ND7TW4P4ER"},
			{"GAKFARYSPI33KUJE7HYLT47DCX2PFWJ77W3LZMRBPSGPGYPMSDBE7W7X", "SALJ5LPBTXCFML2CQ7ORP7WJNJOZSVBVRQAAODMVHMUF4P4XXFZB7MKY"},
		},
	},
}

// stellarKey decodes a Stellar StrKey: base32 of a version byte, 32 bytes
// and a 2-byte checksum (not checked: a mistyped key fails the
// comparison anyway).
func stellarKey(t *testing.T, s string, version byte) []byte {
	t.Helper()
	b, err := base32.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 35 || b[0] != version {
		t.Fatalf("StrKey %s: %x, %v", s, b, err)
	}
	return b[1:33]
}

// TestSEP0005 checks the whole way from words to keys against keys
// published by another project: ParseMnemonic, Seed (with and without a
// BIP-39 passphrase) and DeriveSLIP10 at three hardened levels.
func TestSEP0005(t *testing.T) {
	const (
		versionPublic = 6 << 3  // G…
		versionSecret = 18 << 3 // S…
	)
	for _, v := range sep5Vectors {
		t.Run(v.name, func(t *testing.T) {
			m, err := ParseMnemonic(v.mnemonic)
			if err != nil {
				t.Fatal(err)
			}
			seed := m.Seed([]byte(v.passphrase))
			if got := hex.EncodeToString(seed); got != v.seed {
				t.Fatalf("seed %s, want %s", got, v.seed)
			}
			coin, _, err := DeriveSLIP10(seed, []uint32{44 | Hardened, 148 | Hardened})
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(coin[:]); got != v.coinKey {
				t.Errorf("m/44'/148' key %s, want %s", got, v.coinKey)
			}
			for n, acct := range v.accounts {
				priv, _, err := DeriveSLIP10(seed, []uint32{44 | Hardened, 148 | Hardened, uint32(n) | Hardened})
				if err != nil {
					t.Fatal(err)
				}
				if want := stellarKey(t, acct[1], versionSecret); !bytes.Equal(priv[:], want) {
					t.Errorf("m/44'/148'/%d': secret %x, want %x (%s)", n, priv, want, acct[1])
				}
				k, err := KeyFromSeed(priv[:])
				if err != nil {
					t.Fatal(err)
				}
				pub := k.PubKey()
				if want := stellarKey(t, acct[0], versionPublic); !bytes.Equal(pub[:], want) {
					t.Errorf("m/44'/148'/%d': public key %x, want %x (%s)", n, pub, want, acct[0])
				}
			}
		})
	}
}

// TestMnemonicAccounts: the key of account N is the one at
// m/44'/7731'/N', with and without a BIP-39 passphrase.
func TestMnemonicAccounts(t *testing.T) {
	m, err := ParseMnemonic(bip39Vectors[len(bip39Vectors)-1].mnemonic)
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"", "TREZOR"} {
		seed := m.Seed([]byte(pass))
		addrs := map[string]bool{}
		for _, n := range []uint32{0, 1, 2, MaxAccount} {
			k, err := m.Derive([]byte(pass), n)
			if err != nil {
				t.Fatal(err)
			}
			priv, _, err := DeriveSLIP10(seed, []uint32{44 | Hardened, 7731 | Hardened, n | Hardened})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k.Seed(), priv[:]) {
				t.Errorf("passphrase %q, account %d: key is not the one at m/44'/7731'/%d'", pass, n, n)
			}
			if want := fmt.Sprintf("m/44'/7731'/%d'", n); k.Path() != want {
				t.Errorf("Path = %s, want %s", k.Path(), want)
			}
			if k.Account != n || k.PassphraseUsed != (pass != "") || k.Mnemonic != m {
				t.Errorf("passphrase %q, account %d: %+v", pass, n, k)
			}
			addrs[k.Address().String()] = true
		}
		if len(addrs) != 4 {
			t.Errorf("passphrase %q: 4 accounts gave %d addresses", pass, len(addrs))
		}
	}
	if _, err := m.Derive(nil, MaxAccount+1); !errors.Is(err, ErrDerivation) {
		t.Errorf("account 2^31: %v", err)
	}
}

// TestMnemonicAddressPinned pins the address of one mnemonic's first two
// accounts, so that a change to any step from words to address shows.
// The values are this code's own output (SEP-0005 above checks the same
// steps against another project's keys).
func TestMnemonicAddressPinned(t *testing.T) {
	m, err := ParseMnemonic(strings.Repeat("abandon ", 23) + "art")
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range []string{
		"cairn16annua7arz9vymc6lksakxaga6hkln9mnqw0ws",
		"cairn1dym4hc3q8l8333a56umgdmtytgstgwv4lxxygr",
	} {
		k, err := m.Derive(nil, uint32(n))
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Address().String(); got != want {
			t.Errorf("account %d: address %s, want %s", n, got, want)
		}
	}
}

func TestParseMnemonicNormalises(t *testing.T) {
	v := bip39Vectors[len(bip39Vectors)-1] // 24 words
	words := strings.Fields(v.mnemonic)
	numbered := func(format string) string {
		var b strings.Builder
		for i, w := range words {
			fmt.Fprintf(&b, format, i+1, w)
		}
		return b.String()
	}
	for name, in := range map[string]string{
		"upper case":           strings.ToUpper(v.mnemonic),
		"tabs and newlines":    strings.Join(words, "\n\t"),
		"one word a line":      strings.Join(words, "\r\n") + "\r\n",
		"numbered like new":    numbered("%2d. %-8s  "),
		"numbered with )":      numbered("%d) %s\n"),
		"numbered with :":      numbered("%d: %s "),
		"bare numbers":         numbered("%d %s "),
		"fullwidth letters":    strings.Replace(v.mnemonic, words[0], toFullwidth(words[0]), 1),
		"no-break spaces":      strings.Join(words, "\u00a0"),
		"ideographic spaces":   strings.Join(words, "\u3000"),
		"some numbered":        "1. " + words[0] + " " + strings.Join(words[1:], " "),
		"leading and trailing": "\n\n   " + v.mnemonic + "   \n\n",
		"byte order mark":      "\ufeff" + v.mnemonic + "\n",
	} {
		m, err := ParseMnemonic(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m.Phrase() != v.mnemonic || hex.EncodeToString(m.Entropy()) != v.entropy {
			t.Errorf("%s: %q", name, m.Phrase())
		}
	}
}

// toFullwidth writes ASCII letters as their fullwidth forms, which NFKD
// turns back into ASCII.
func toFullwidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r - 'a' + 'ａ')
	}
	return b.String()
}

func TestParseMnemonicRefusals(t *testing.T) {
	v := bip39Vectors[len(bip39Vectors)-1]
	words := strings.Fields(v.mnemonic)
	with := func(i int, w string) string {
		c := append([]string(nil), words...)
		c[i] = w
		return strings.Join(c, " ")
	}
	swapped := append([]string(nil), words...)
	swapped[0], swapped[1] = swapped[1], swapped[0]
	tests := []struct {
		name string
		in   string
		code MnemonicErrorCode
		want string
	}{
		{"empty", "", MnemonicEmpty, "invalid mnemonic: no words"},
		{"only space", " \n\t ", MnemonicEmpty, "invalid mnemonic: no words"},
		{"misspelt word", with(6, "abandn"), MnemonicUnknownWord, `invalid mnemonic: word 7 "abandn" is not in the BIP-39 English list`},
		{"misspelt, as typed", with(6, "Abandn"), MnemonicUnknownWord, `invalid mnemonic: word 7 "Abandn" is not in the BIP-39 English list`},
		{"first word", with(0, "bitcoin"), MnemonicUnknownWord, `invalid mnemonic: word 1 "bitcoin" is not in the BIP-39 English list`},
		{"last word", with(23, "zoom"), MnemonicUnknownWord, `invalid mnemonic: word 24 "zoom" is not in the BIP-39 English list`},
		{"a number out of place", "1. " + words[0] + " 3. " + strings.Join(words[1:], " "), MnemonicUnknownWord, `invalid mnemonic: word 2 "3." is not in the BIP-39 English list`},
		{"punctuation", strings.Join(words, ", "), MnemonicUnknownWord, `invalid mnemonic: word 1 "` + words[0] + `," is not in the BIP-39 English list`},
		{"another language", with(2, "ábaco"), MnemonicUnknownWord, `invalid mnemonic: word 3 "ábaco" is not in the BIP-39 English list`},
		{"fullwidth, as typed", with(6, toFullwidth("abandn")), MnemonicUnknownWord, `invalid mnemonic: word 7 "ａｂａｎｄｎ" is not in the BIP-39 English list`},
		{"a hex seed", rfcSeed, MnemonicUnknownWord, `invalid mnemonic: word 1 "` + rfcSeed[:48] + `"… (64 bytes) is not in the BIP-39 English list`},
		{"23 words", strings.Join(words[:23], " "), MnemonicWordCount, "invalid mnemonic: 23 words given; want 24 (or 12, 15, 18 or 21)"},
		{"25 words", v.mnemonic + " abandon", MnemonicWordCount, "invalid mnemonic: 25 words given; want 24 (or 12, 15, 18 or 21)"},
		{"1 word", "abandon", MnemonicWordCount, "invalid mnemonic: 1 words given; want 24 (or 12, 15, 18 or 21)"},
		{"last word changed", with(23, "abandon"), MnemonicChecksum, "invalid mnemonic: the BIP-39 checksum does not match: a word is wrong or out of place"},
		{"two words swapped", strings.Join(swapped, " "), MnemonicChecksum, "invalid mnemonic: the BIP-39 checksum does not match: a word is wrong or out of place"},
		{"12 words, bad checksum", strings.Repeat("abandon ", 12), MnemonicChecksum, "invalid mnemonic: the BIP-39 checksum does not match: a word is wrong or out of place"},
	}
	for _, tt := range tests {
		m, err := ParseMnemonic(tt.in)
		var me *MnemonicError
		if !errors.As(err, &me) || !errors.Is(err, ErrBadMnemonic) || m != nil {
			t.Errorf("%s: got %v, %v; want a *MnemonicError", tt.name, m, err)
			continue
		}
		if me.Code != tt.code || err.Error() != tt.want {
			t.Errorf("%s: code %d, %q\n want code %d, %q", tt.name, me.Code, err, tt.code, tt.want)
		}
	}
}

func TestMnemonicFromEntropyRefusals(t *testing.T) {
	for _, n := range []int{0, 15, 17, 33, 64} {
		if m, err := MnemonicFromEntropy(make([]byte, n)); err == nil || m != nil {
			t.Errorf("%d bytes of entropy: %v, %v", n, m, err)
		}
	}
}

func TestNewMnemonic(t *testing.T) {
	a, err := NewMnemonic()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMnemonic()
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Words()) != MnemonicWords || len(a.Entropy()) != EntropySize {
		t.Fatalf("%d words, %d bytes", len(a.Words()), len(a.Entropy()))
	}
	if bytes.Equal(a.Entropy(), b.Entropy()) {
		t.Fatal("two new mnemonics are the same")
	}
	// Words and Entropy return copies.
	a.Words()[0] = "x"
	a.Entropy()[0] ^= 1
	if p, err := ParseMnemonic(a.Phrase()); err != nil || !bytes.Equal(p.Entropy(), a.Entropy()) {
		t.Fatalf("a mnemonic changed through its copies: %v", err)
	}
}

// TestMnemonicRoundTrip: for any entropy of a BIP-39 size, the words
// parse back to it, however they are cased, spaced and numbered.
func TestMnemonicRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.SampledFrom([]int{16, 20, 24, 28, 32}).Draw(t, "size")
		entropy := rapid.SliceOfN(rapid.Byte(), n, n).Draw(t, "entropy")
		m, err := MnemonicFromEntropy(entropy)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, w := range m.Words() {
			if rapid.Bool().Draw(t, "label") {
				fmt.Fprintf(&b, "%d. ", i+1)
			}
			if rapid.Bool().Draw(t, "upper") {
				w = strings.ToUpper(w)
			}
			b.WriteString(w)
			b.WriteString(rapid.SampledFrom([]string{" ", "  ", "\n", "\t", "\r\n"}).Draw(t, "space"))
		}
		p, err := ParseMnemonic(b.String())
		if err != nil {
			t.Fatalf("%q: %v", b.String(), err)
		}
		if !bytes.Equal(p.Entropy(), entropy) || p.Phrase() != m.Phrase() || len(m.Words()) != n*3/4 {
			t.Fatalf("%q → %x, want %x", b.String(), p.Entropy(), entropy)
		}
	})
}

func FuzzParseMnemonic(f *testing.F) {
	for _, v := range bip39Vectors[:3] {
		f.Add(v.mnemonic)
	}
	f.Add(bip39Vectors[len(bip39Vectors)-1].mnemonic)
	f.Add(" 1. ABANDON\t2. abandon 3) abandon 4: abandon 5 abandon abandon abandon abandon abandon abandon abandon about\n")
	f.Add(strings.Repeat("abandon ", 24))
	f.Add("abandn")
	f.Add("ｚｏｏ zoo")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseMnemonic(in)
		if err != nil {
			var me *MnemonicError
			if m != nil || !errors.As(err, &me) || !errors.Is(err, ErrBadMnemonic) {
				t.Fatalf("refused with %v (%T) and returned %v", err, err, m)
			}
			if me.Code == MnemonicUnknownWord && (me.Word < 1 || me.Given == "") {
				t.Fatalf("unknown word without its position or text: %+v", me)
			}
			return
		}
		words := m.Words()
		if n := len(words); n%3 != 0 || n < 12 || n > 24 || len(m.Entropy()) != n/3*4 {
			t.Fatalf("accepted %d words with %d bytes of entropy", n, len(m.Entropy()))
		}
		again, err := MnemonicFromEntropy(m.Entropy())
		if err != nil || again.Phrase() != m.Phrase() {
			t.Fatalf("entropy %x spells %v (%v), parsed as %q", m.Entropy(), again, err, m.Phrase())
		}
		p, err := ParseMnemonic(m.Phrase())
		if err != nil || !bytes.Equal(p.Entropy(), m.Entropy()) {
			t.Fatalf("re-parsing %q: %v", m.Phrase(), err)
		}
	})
}
