// Package match holds the rules by which the history lookup takes two
// spellings of an address, a phone number or a person's name for the same
// one: normalisation that knows the region's scripts and address
// conventions, and the keys the incidents are indexed under.
//
// It imports nothing of the application: the incident package computes
// an incident's keys with it, and the history lookup compares them. Two
// keys match when they are equal and not empty; the functions are pure,
// allocate little and take microseconds (BenchmarkKeys), as they run
// while the dispatcher types.
//
// # One transliteration key
//
// [Fold] maps a word in Cyrillic (Russian, Kyrgyz ө ү ң), Georgian or
// Latin letters to one Latin key in which the usual spellings coincide:
// zh/j/ж/ჟ, dzh/dj/j/ჯ, kh/h/х/ხ, gh/g/ღ, q/k/ყ, ts/c/ц/წ/ც, ch/tch/ჩ/ჭ,
// sh/ш/შ with shch/sch/щ, y/i/ы/й, yu/iu/ю, ya/ia/я, ye/ie/e, yo/io/ё/e,
// the Georgian aspirate and ejective pairs (ფ/პ, თ/ტ, ქ/კ), Latin
// diacritics (ö, ü, š, č) and apostrophes dropped, soft and hard signs
// dropped, double letters single. Vowels are kept, so the gendered
// endings of family names are too. A word mixing Cyrillic and Latin
// letters that look alike (a Latin C in "Cергей") is read in the
// alphabet most of its letters are in. The table is in translit.go.
//
// # Names
//
// [Name] folds every word and sorts them: word order, case, punctuation
// and script do not matter, every word does. Family members are so not
// one person: Bekova is not Bekov, Nino Beridze not Nino Berishvili,
// Aigul Bekova not Ruslan Bekova. A Russian-style patronymic (-ovna,
// -evna, -ichna, -ovich, -evich) is dropped from a name of three words or
// more, since callers give it or not ("Морозова Марина Ивановна" =
// "Marina Morozova"); Kyrgyz "уулу"/"кызы" names keep every word, as the
// father's name there is the family name. Placeholders (неизвестно,
// unknown, белгисиз, უცნობი) give no key. Nicknames (Sasha, Aleksandr)
// are not folded.
//
// # Addresses
//
// [Address] reads an address as words and numbers:
//
//   - Street-type words are dropped, in Russian, Kyrgyz, Georgian and
//     English, with their abbreviations (ул./улица/St/street/көчөсү/
//     ქ./ქუჩა, пр./пр-т/проспект/Ave/გამზირი, бульвар, пер./переулок/
//     lane/შესახვევი, ...), and so are microdistrict and residential-area
//     words (мкр/микрорайон/mkr/microdistrict/кичирайону/მ/რ, ж/м),
//     settlement words (с., село, სოფ.), city and country names that
//     callers add or omit (Bishkek/Бишкек, Osh, Jalal-Abad, Karakol, ...,
//     Tbilisi/თბილისი, Gori/გორი, Kutaisi, Batumi, Rustavi, Zugdidi, ...,
//     in every script; not where a street word goes with it: Kutaisi St,
//     ул. Фрунзе), the word after г./город/ქალაქი and the word
//     before область/район/რაიონი; a Tbilisi district's name (Vake,
//     Saburtalo, Gldani, ...) is dropped where a street is named too. Two
//     addresses that differ only in the city therefore match: the lookup
//     is within one deployment. Village and settlement names are kept
//     (every village has its Lenin Street), so a village given in one
//     spelling and left out of the other is a miss, not a false match.
//   - The remaining words form the street: each run of them (ended by a
//     comma, a marker or a number) is folded, Georgian genitives dropped
//     (ჭავჭავაძის = Chavchavadze, სტალინის = Stalin, კოსტავას = Kostava)
//     and reduced to its first letter and its consonants, so that
//     Russian genitive and adjective endings (Ахунбаева = Akhunbaev,
//     Moskovskaya = Московская), Georgian syncope (აღმაშენებლის =
//     Aghmashenebeli) and romanised vowels do not matter; the runs are
//     sorted ("Tunguch mkr" = "мкр Тунгуч"); initials are dropped
//     (Ч. Айтматов = Ch. Aitmatov = Aitmatov). Two streets whose names
//     differ only in their vowels after the first letter share a key;
//     the house number must agree too.
//   - Numbers keep their roles and order. A marker gives the number after
//     it its role: house (д., дом, house, bldg, үй, სახლი), block (корпус,
//     к, block, კორპუსი), flat (кв., квартира, apt, flat, kv, батир,
//     ბინა); entrance and floor numbers (подъезд, этаж, სართული) are
//     dropped. In Kyrgyz the marker follows, with a dash or a space (9-үй,
//     68 батир), as any marker joined by a dash does.
//     Bare numbers fill the house, then the flat: "60-5", "60, кв. 5" and
//     "60 apt 5" are house 60 flat 5; "12/1" is house 12 block 1 (not
//     house 121); a letter joins its house (12а = 12 А = 12-a). A
//     microdistrict's number where it has no name is part of the street
//     (мкр 12, 5-3 = 12 мкр, д. 5, кв. 3), as is a number before a name
//     or a street word, or joined to a name by a dash, with the house
//     still to come (ул. 8 Марта 12; 5th street, 12; Восток-5 12-34), and
//     bare numbers before an explicit house (Джал 23, д. 5). A block with no house is
//     the house (Глдани 3 мкр, корпус 10).
//
// The building key is street, house and block; the flat key adds the
// flat ("Московская 60, кв. 5" and "Moskovskaya 60, apt 7" share the
// building, not the flat). A house without a flat has a flat key equal
// to its building key. An address with no street name or no house number
// has no keys: a bare street, microdistrict or settlement would match
// every call from it and drown the real history.
//
// Keys are opaque strings ("mskvsk#60/1-5": street, house, block, flat;
// "marina morozova"; "+996555123456") whose form follows these rules:
// when the rules change, stored keys are recomputed.
//
// # Phones
//
// [Rules.Phone] parses with libphonenumber (github.com/nyaruka/phonenumbers)
// in the deployment's region ([Rules].Region, [DefaultRegion] "KG" when
// empty) and returns E.164: "+996 555 12-34-56" = "0555 123 456" =
// "555123456"; "0 (312) 66-12-34" = "+996 312 661 234". A number must have
// a full possible length for its country (IsPossibleNumber without the
// local-only lengths; allocated ranges are not checked, so that new
// operators' numbers match); anything else gives no key. The library's
// parser is slow (its extension pattern alone takes tens of
// microseconds), so the usual spellings (digits with a +, an IDD, the
// region's own code or a trunk prefix) are read straight from its
// metadata (possible lengths, calling codes, national prefixes) with the
// same answers; regions whose prefixes are patterns (Argentina, Brazil,
// ...) are left to the parser. TestPhoneFastPathEqualsLibrary and
// FuzzPhoneFastPath hold the two to one answer.
package match
