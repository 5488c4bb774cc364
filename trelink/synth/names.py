"""Names that fit a person's origin, how often each occurs, and the spelling variants.

Faker supplies Latin-script names where it has them (British, Romanian, Polish, Yoruba
for Nigeria, romanised Chinese family names), drawn uniformly. For origins where Faker
has no Latin-script names or too few, or where the point is the transliteration variants
(Arabic, Tigrinya, Amharic, Pashto/Dari, Persian, Kurdish, Albanian, Vietnamese), the
lists below are curated, commonest first: each *canonical* spelling may have variants
that other agencies write. Curated forenames are skewed (weights 1/(rank + 5)),
Vietnamese family names follow their published shares, Chinese given names are one or
two syllables, and Eritrean, Ethiopian and Sudanese surnames are mostly the father's
given name. The realism matters for linkage: a pool much smaller than the population it
stands for makes namesakes (two children with one full name) far commoner than in real
records; ``name_collision_rates`` measures that.
Name pools are plain tuples built once per run; nothing here holds mutable state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import import_module

import numpy as np

from trelink.synth.errors import SynthError

__all__ = [
    "NAME_ORIGINS",
    "NICKNAMES",
    "TRANSLITERATIONS",
    "NamePool",
    "build_name_pools",
    "draw_names",
    "ethiopic_abbreviation",
    "family_name_first",
    "name_collision_rates",
    "name_probabilities",
    "surname_probabilities",
]

# Curated variant groups: the first spelling is canonical (the true name in the truth
# files); the others are what another agency may have written down.
_VARIANT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Mohammed", "Mohamed", "Muhammad", "Mohammad", "Mohamad", "Muhammed"),
    ("Ahmed", "Ahmad", "Ahmet"),
    ("Yousif", "Yousef", "Yusuf", "Youssef"),
    ("Hussein", "Hussain", "Husain", "Hosein"),
    ("Abdallah", "Abdalla", "Abdullah"),
    ("Osman", "Othman", "Usman"),
    ("Abdelrahman", "Abdulrahman", "Abdel Rahman", "Abdurahman"),
    ("Ibrahim", "Ebrahim", "Ibraheem"),
    ("Suleiman", "Sulaiman", "Soliman", "Suleyman"),
    ("Omar", "Umar"),
    ("Khalid", "Khaled"),
    ("Mustafa", "Mostafa", "Mustapha"),
    ("Hassan", "Hasan"),
    ("Aisha", "Aysha", "Ayesha"),
    ("Fatima", "Fatma", "Fatimah"),
    ("Mariam", "Maryam", "Meriam"),
    ("Zainab", "Zaynab", "Zeinab"),
    ("Khadija", "Khadijah", "Khadidja"),
    ("Ishag", "Ishaq", "Ishak"),
    ("Haroun", "Harun", "Haroon"),
    ("Elsheikh", "El Sheikh", "Alsheikh"),
    ("Noorullah", "Nurullah", "Noor Ullah"),
    ("Zabihullah", "Zabiullah", "Zabihollah"),
    ("Mirwais", "Mirwaiz", "Mir Wais"),
    ("Sayed", "Sayyed", "Syed"),
    ("Ahmadi", "Ahmady"),
    ("Mohammadi", "Mohammady", "Mohamadi"),
    ("Haidari", "Haideri", "Heydari"),
    ("Hakimi", "Hakeemi"),
    ("Noori", "Nouri", "Nuri"),
    ("Stanikzai", "Stanekzai"),
    ("Hosseini", "Husseini", "Hoseini"),
    ("Rezaei", "Rezaie", "Rezaee"),
    ("Ghorbani", "Qorbani"),
    ("Jafari", "Jaafari", "Jafary"),
    ("Saeed", "Saeid", "Said"),
    ("Al-Enezi", "Alenezi", "Al Anezi", "Enezi"),
    ("Al-Shammari", "Alshammari", "Shammari"),
    ("Al-Dhafiri", "Aldhafiri", "Al Dhafeeri"),
    ("Mahmoud", "Mahmood", "Mahmud"),
    ("Salih", "Saleh", "Salah"),
    ("Haider", "Haidar", "Hayder"),
    ("Hoxha", "Hodja", "Hoxa", "Hoca"),
    ("Xhafa", "Xafa", "Dzhafa"),
    ("Xhuljo", "Xhulio", "Julio"),
    ("Endri", "Endrit"),
    ("Klajdi", "Klaidi", "Klajdí"),
    ("Çela", "Cela", "Chela"),
    ("Krasniqi", "Krasniki", "Krasniqui"),
    ("Kristian", "Kristjan", "Christian"),
    ("Fatjon", "Fation"),
    ("Xhensila", "Xhenisla", "Jensila"),
    ("Gebremedhin", "Ghebremedhin", "Gebre Medhin"),
    ("Gebrehiwet", "Ghebrehiwet", "Gebre Hiwet"),
    ("Gebreyesus", "Ghebreyesus", "Gebre Yesus"),
    ("Ghebremichael", "Gebremichael", "Gebre Michael"),
    ("Weldemariam", "Woldemariam", "Welde Mariam"),
    ("Woldegiorgis", "Weldegiorgis", "Wolde Giorgis"),
    ("Tesfay", "Tesfaye", "Tesfai"),
    ("Yohannes", "Yohanes", "Johannes"),
    ("Mekonnen", "Mekonen", "Makonnen"),
    ("Merhawi", "Mehrawi"),
    ("Filmon", "Filimon", "Philemon"),
    ("Semere", "Semre"),
    ("Hiwet", "Hiwot"),
    ("Luwam", "Luam"),
)

TRANSLITERATIONS: Mapping[str, tuple[str, ...]] = {group[0]: group[1:] for group in _VARIANT_GROUPS}

# Nicknames and short forms (both directions are used: a record may hold either).
NICKNAMES: Mapping[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Robbie"),
    "William": ("Will", "Bill", "Billy"),
    "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jamie"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Katherine": ("Kate", "Katie"),
    "Daniel": ("Dan", "Danny"),
    "Michael": ("Mike", "Mikey"),
    "Christopher": ("Chris",),
    "Jessica": ("Jess",),
    "Rebecca": ("Becky", "Becca"),
    "Samuel": ("Sam", "Sammy"),
    "Alexander": ("Alex",),
    "Joshua": ("Josh",),
    "Matthew": ("Matt",),
    "Jonathan": ("Jon", "Jonny"),
    "Nicholas": ("Nick",),
    "Benjamin": ("Ben",),
    "Charlotte": ("Lottie", "Charlie"),
    "Victoria": ("Vicky", "Tori"),
    "Jennifer": ("Jenny", "Jen"),
    "Mohammed": ("Mo", "Mohd"),
    "Abdelrahman": ("Abdo",),
    "Kristian": ("Kris",),
    "Abdallah": ("Abdi",),
    "Yohannes": ("Johnny",),
}

# Curated origins. Names are listed commonest first (roughly, from general knowledge of
# each population); forenames are drawn with weights 1/(rank + 5), surnames uniformly.
# Spellings are those UK agencies usually write; each canonical spelling of a variant
# group above appears in at least one list, so corrupt.py can turn it into a variant.
# Eritrean, Ethiopian and Sudanese children usually carry their father's given name as
# their second name: for those origins ``patronymic`` of the surnames are drawn from the
# male forenames (the fathers' names), the rest from the family names listed here
# (grandfathers' names and family names).
_PATRONYMIC_SHARE = 0.8


@dataclass(frozen=True)
class _Curated:
    forenames_male: str
    forenames_female: str
    surnames: str
    patronymic: float = 0.0


_CURATED: Mapping[str, _Curated] = {
    "arabic_sudan": _Curated(
        forenames_male="""
            Mohammed Ahmed Abdallah Osman Omar Ali Ibrahim Yousif Mustafa Hamza Adam
            Khalid Abdelrahman Hassan Hussein Ishag Musa Yahya Issa Idris Suleiman Haroun
            Abakar Salih Mahmoud Abdelaziz Abubakar Ismail Hamid Bashir Elfatih Elsadig
            Eltayeb Babiker Awad Abdelgadir Abdelrahim Abdelmoneim Abdelkarim Abdelwahab
            Abdelmajid Tarig Yasir Hashim Siddig Jaafar Zakaria Mohanad Muntasir Mujahid
            Anwar Amir Faisal Mubarak Elnour Nasr Hafiz Adil Gamal Kamal Monzir Bakhit
            Daoud Gibril Khamis Mahjoub Abdelshafi
        """,
        forenames_female="""
            Fatima Amna Mariam Aisha Hawa Khadija Sara Zainab Malak Hanan Huda Salma
            Samia Nafisa Asma Suad Sumaya Safa Marwa Hiba Reem Rayan Tasneem Nada Amal
            Halima Zahra Iman Ikhlas Intisar Awadia Hadia Rahma Rania Rasha Sawsan Samah
            Shaima Wafa Widad Yusra Aziza Hajer Maha Mona Najat Nawal Sahar Tahani Hind
            Buthaina Alawia Fathia Nasra Nour Limya Rabab
        """,
        surnames="""
            Abdelrahman Mohammed Ahmed Osman Hassan Yousif Ibrahim Adam Ishag Abakar
            Haroun Suleiman Elsheikh Abdallah Khalid Ali Omar Musa Idris Yahya Issa Elamin
            Elhassan Eltayeb Babiker Abdelaziz Abdelgadir Abdelkarim Abdelrahim Abdelmajid
            Hamid Hamad Salih Mahmoud Bakheit Awad Elnour Hussein Mustafa Ismail
            Abdelwahab Siddig Mukhtar Elsayed Zakaria Jumaa Dahab Eltahir Elkhidir Fadul
            Gibril Khamis Abdelmoneim Elzein Karar Mohamedain Abdelbagi Hasaballa Mirghani
            Hamza Daoud Elobeid Fadlallah
        """,
        patronymic=_PATRONYMIC_SHARE,
    ),
    # Iraqi Arabs and Kurds, and Kuwaiti (often Bidoon) families.
    "arabic_gulf_iraq": _Curated(
        forenames_male="""
            Ali Hussein Ahmed Mohammed Karwan Rebwar Dilshad Hawkar Sarkawt Mustafa Abbas
            Haider Omar Saeed Hassan Mahdi Abdallah Karrar Murtadha Yousif Zaid Hamza
            Ibrahim Khalid Sajjad Jaafar Qasim Kadhim Yasir Ammar Bilal Mahmoud Ismail
            Salim Hamid Faisal Fahad Nasser Saad Sultan Abdulaziz Bader Talal Hamad Nawaf
            Mishal Aras Shwan Soran Zana Hemin Diyar Rekan Baran Kawa Aram Bakhtiyar
            Sirwan Hawre Goran Awat Hiwa Rawand Rebin Hussam Ayad Wisam Mohanad
        """,
        forenames_female="""
            Zainab Fatima Mariam Shilan Nazdar Aisha Noor Zahraa Sara Hawraa Ruqaya Huda
            Rusul Ayat Ghufran Duaa Tabarak Narjis Sura Hiba Israa Aya Shahad Dalia Rana
            Hanan Hana Avin Rozh Lana Chiman Bahar Sozan Dilan Runak Tara Shno Sazan
            Shadan Bayan Jwan Noura Dana Shaikha Hessa Latifa Dalal Reem Asma Maha Amal
            Lulwa Mashael
        """,
        surnames="""
            Ali Hussein Abdallah Mahmoud Rashid Salih Aziz Karim Al-Saadi Al-Jubouri
            Al-Enezi Al-Shammari Al-Dhafiri Haider Hassan Ahmed Mohammed Abbas Jasim
            Kadhim Hamid Khalil Ibrahim Omar Mustafa Jabbar Hadi Majeed Fadhil Salman
            Qasim Mahdi Al-Tamimi Al-Obaidi Al-Dulaimi Al-Rubaie Al-Khafaji Al-Zubaidi
            Al-Azzawi Al-Hashimi Al-Mutairi Al-Ajmi Al-Harbi Al-Rashidi Al-Kandari
            Al-Otaibi Al-Hajri Rasul Qadir Amin Faraj Hama Sharif Osman Jalal Hamad Sabri
            Taha Younis Ismail Yousif
        """,
    ),
    "pashto_dari": _Curated(
        forenames_male="""
            Ahmad Mohammed Ali Hamid Rahim Karim Jawad Farid Noorullah Zabihullah Mirwais
            Habib Naveed Sayed Bilal Asadullah Samiullah Rahmatullah Hekmatullah
            Najibullah Ehsanullah Hayatullah Ziaullah Shafiullah Nasrullah Wahid Ajmal
            Jamshid Fawad Farhad Sohail Shafiq Rafiq Ismail Idris Yama Omid Sharif Aziz
            Nasir Tariq Wali Khalil Javid Masoud Rashid Zaki Mansoor Murtaza Mujtaba Abdul
            Emal Zalmai Obaidullah Inayatullah Atiqullah Amanullah Rohullah Safiullah
            Esmatullah Fazal Basir Nabi Qais Sultan Dawood Jalal Haseeb Elyas Yasin Tamim
            Milad Baryalai Hashmat
        """,
        forenames_female="""
            Zahra Fatima Mariam Parwana Nargis Shabnam Laila Freshta Mina Marzia Mahbooba
            Nazanin Sima Roya Yalda Tamana Zarghona Malalai Nilofar Hadia Habiba Sakina
            Masooma Arezo Sadaf Setara Sharifa Shakila Farzana Gulalai Hosai Khatera
            Latifa Madina Mursal Nadia Nasrin Palwasha Pari Raihana Razia Rukhsar Sahar
            Samira Sana Shukria Soraya Wahida Zakia Zarmina
        """,
        surnames="""
            Ahmadi Rahimi Karimi Mohammadi Hakimi Noori Popal Safi Stanikzai Wardak Hotak
            Sultani Amiri Haidari Jalali Khan Ahmadzai Hashimi Rahmani Azizi Sadat Sediqi
            Faizi Rasuli Nazari Habibi Hamidi Akbari Alizada Jafari Shinwari Mohmand
            Durrani Barakzai Popalzai Alokozai Achakzai Kakar Mangal Zadran Niazi Afridi
            Samadi Qaderi Nasiri Omari Sharifi Waziri Zazai Mansoori Noorzai Ishaqzai
            Kohistani Panjshiri Andarabi Kabuli Sahak Quraishi Sarwari Taheri Yaqubi Zahir
            Amin
        """,
    ),
    "persian": _Curated(
        forenames_male="""
            Reza Amir Mehdi Hussein Ali Mohammed Arash Saeed Omid Behnam Kian Dariush
            Abolfazl Amirhossein Mohammadreza Alireza Mohsen Hamed Majid Navid Farhad
            Behzad Babak Milad Sina Pouya Parsa Arman Aryan Hadi Javad Hassan Morteza Ehsan
            Peyman Payam Siavash Kourosh Shahin Soroush Farshid Kamran Iman Yasin Matin
            Amin Erfan Sajjad Mehran Masoud Nima Vahid Shahram Bahman Keyvan Ramin Danial
            Mehrdad Farzad Rasoul Saman Hesam Hooman
        """,
        forenames_female="""
            Mariam Zahra Fatima Niloufar Parisa Shirin Sara Roya Narges Nazanin Setareh
            Leila Mina Elham Mahsa Hanieh Negar Yasaman Ziba Azadeh Samira Shiva Tara Bahar
            Golnaz Mahnaz Mitra Nasrin Farideh Fereshteh Elnaz Sahar Sepideh Soheila Atefeh
            Haleh Helia Kimia Melika Nazila Pegah Reyhaneh Samaneh Sanaz Shadi Somayeh
            Arezoo Delaram Hasti Maedeh Nafiseh Raha Parvaneh
        """,
        surnames="""
            Hosseini Rezaei Mohammadi Ahmadi Karimi Moradi Jafari Rahimi Kazemi Ghorbani
            Haidari Sadeghi Hashemi Mousavi Ebrahimi Rostami Abbasi Akbari Azizi Ghasemi
            Hassani Karami Najafi Salehi Shahbazi Taheri Yousefi Zamani Asadi Bagheri
            Bahrami Mahmoudi Mirzaei Nazari Soleimani Alizadeh Hosseinzadeh Rahmani Sharifi
            Tehrani Rashidi Farahani Faraji Kiani Mohammadzadeh Khodadadi Kamali Esmaeili
            Fathi Hamidi Rasouli Amiri Sohrabi Daneshvar Hosseinpour Ranjbar Jahani
            Mansouri Moghaddam Naderi Parvizi Ansari Afshar Safari Sepehri
        """,
    ),
    "albanian": _Curated(
        forenames_male="""
            Endri Ardit Kristian Erion Klajdi Besnik Arben Dritan Elton Fatjon Florian
            Gentian Ilir Jurgen Kledi Marjo Renaldo Xhuljo Sokol Ervis Ardi Arlind Armando
            Aldo Alban Altin Amarildo Andi Arber Bledar Denis Dorian Eljon Elvis Enea Erald
            Ergys Eris Erjon Ermal Flamur Gerald Geri Gezim Indrit Jetmir Julian Kevin
            Klevis Leonardo Lorenc Luan Marsel Mateo Mario Nertil Orges Orjon Redi Rei
            Rigers Romeo Sajmir Taulant Xhoni Valon Visar Ylli Besart Edison Eduart Erlis
            Ornaldo
        """,
        forenames_female="""
            Ana Elona Arta Blerta Denisa Klea Megi Sara Xhensila Anisa Jonida Ajola Alba
            Amarda Ardita Arjola Bora Dea Dorina Elda Elisa Enkeleda Era Erisa Esmeralda
            Gerta Greta Ina Irisa Joana Jora Kejsi Klaudia Kristina Ledia Lira Marsela
            Migena Nora Orjana Rea Rovena Sidorela Silvana Teuta Vjosa Xhoana Ermira
            Besjana Elira Mimoza Drita Fjona Valbona
        """,
        surnames="""
            Hoxha Shehu Gjoka Leka Marku Dervishi Kola Prifti Çela Meta Hysa Krasniqi
            Berisha Gashi Dushku Lika Zeneli Xhafa Gjoni Doda Daci Kurti Mema Duka Basha
            Rama Sula Cani Hasani Muca Noka Lleshi Brahimi Bajrami Ahmeti Dema Gjini Halili
            Hoxhaj Kapllani Kuka Lala Malaj Ndreu Pepa Rexha Shala Spahiu Tafa Tahiri
            Toska Veli Vata Dibra Bregu Kastrati Bushati Shkurti Bici Hajdari Kraja Lushi
            Mehmeti Nika Pllumi Rushiti Ymeri Zefi Zyberi Deda Prenga
        """,
    ),
    "tigrinya": _Curated(
        forenames_male="""
            Yonas Dawit Filmon Merhawi Semere Abel Robel Tesfalem Kidane Mehari Biniam
            Samuel Henok Natnael Yohannes Daniel Yosief Yemane Tesfay Haile Tekle Berhane
            Habte Asmerom Amanuel Aron Efrem Eyob Ermias Freselam Goitom Hagos Kibrom
            Medhanie Mussie Nahom Negasi Okbay Rezene Samson Senay Simon Solomon Temesgen
            Tewelde Tsegay Weldu Yafet Abraham Alem Aklilu Bereket Fitsum Ghirmay Habtom
            Kahsay Kesete Mebrahtu Michael Petros Sirak Teklit Tesfit Yikealo Zerisenay
            Yoel Gebremedhin Gebrehiwet Gebreyesus Weldemariam
        """,
        forenames_female="""
            Helen Selam Saba Senait Luwam Ruta Feven Hiwet Eden Winta Yordanos Mebrat Aster
            Abeba Adiam Almaz Ariam Azieb Bisrat Delina Elsa Eyerusalem Fana Freweyni Hadas
            Haben Kisanet Lidia Meron Merhawit Milen Mizan Nardos Rahel Rigat Salina
            Samrawit Segen Semhar Tirhas Tsega Yodit Yohana Zewdi Nebiat Awet Sara Hanna
        """,
        surnames="""
            Gebremedhin Gebrehiwet Gebreyesus Weldemariam Woldegiorgis Tesfay Haile Tekle
            Kidane Berhane Ghebremichael Mehari Abraha Habte Asmerom Andemariam
            Tesfamariam Tesfamichael Gebrekidan Gebremariam Gebretensae Gebrezgiabher
            Weldeab Weldemichael Weldegebriel Hagos Tsegay Negash Ghirmay Kahsay Fessehaye
            Measho Mesfin Okbazghi Russom Sebhatu Solomon Tedla Teklehaimanot Tewelde
            Yemane Zerai Araya Asfaha Berhe Embaye Goitom Habtemariam Kiflom Mebrahtu
            Tekeste Tesfazion Tsehaye Andom Mehreteab Yosief Medhanie Isaak Amanuel
            Teklemariam
        """,
        patronymic=_PATRONYMIC_SHARE,
    ),
    "amharic": _Curated(
        forenames_male="""
            Abebe Dawit Kebede Tesfay Yohannes Biruk Mulugeta Getachew Tamrat Ermias Abel
            Abenezer Amanuel Bereket Dagim Daniel Eyob Eyasu Fasil Fikru Girma Habtamu
            Haile Henok Kaleab Kidus Kirubel Mekonnen Mesfin Mikias Nahom Natnael Robel
            Samuel Solomon Surafel Tadesse Tewodros Yared Yonatan Zelalem Alemayehu Asfaw
            Bekele Berhanu Elias Endale Efrem Fitsum Gashaw Getnet Kassahun Leul Melaku
            Mulatu Sisay Tadele Teshome Wondimu Worku Yidnekachew
        """,
        forenames_female="""
            Almaz Tigist Meseret Hanna Bethlehem Selamawit Mekdes Aster Bezawit Birtukan
            Eden Elshaday Eyerusalem Fikirte Genet Helen Kidist Liya Mahlet Martha Meron
            Mihret Nardos Rahel Ruth Saba Sara Selam Senait Sosina Tsion Yordanos Yodit
            Netsanet Frehiwot Feven Helina Blen Hermela Kalkidan Tsehay Emebet Misrak Azeb
            Rediet Meklit Tsedey Zenebech
        """,
        surnames="""
            Tesfay Kebede Alemu Bekele Girma Haile Tadesse Mekonnen Woldegiorgis
            Gebremedhin Abebe Getachew Mulugeta Assefa Ayele Demissie Desta Gebremariam
            Gebrekidan Hailu Kassa Lemma Mengesha Negash Tefera Teshome Worku Yilma Abera
            Alemayehu Asfaw Belay Berhanu Biru Dagne Deressa Fikre Gebeyehu Gizaw Habte
            Legesse Mamo Mersha Mulatu Shiferaw Tilahun Wondimu Zewdie Amare Ashenafi
            Dereje Eshetu Feleke Kifle Mesfin Tessema Workneh Yimer Zeleke Wubshet Yohannes
        """,
        patronymic=_PATRONYMIC_SHARE,
    ),
}

# Vietnamese: given names as written with diacritics (agencies often drop them; the
# generator does so at its diacritics rate), commonest first. The family names follow
# their published concentration (percent of the population); the rarer names after Lý
# share the remaining 1.5%.
_VIETNAMESE_FORENAMES_MALE = """
    Minh Anh Huy Khang Bảo Long Nam Đức Tuấn Hùng Dũng Hải Hoàng Phúc Thành Quang Trung
    Khoa Tùng Hưng Hiếu Thắng Sơn Việt Duy Đạt Tài Thịnh Phong Vinh Hậu Lâm Lộc Hiệp Kiên
    Cường Toàn Tín Tiến Tú Vũ Trọng Châu Nhiên Khánh Thái Quân Nghĩa Nhân Phát Tâm Thiện
    Tân Bình Công Đông Giang Hào Kiệt Mạnh Quý Vương Định Hòa Khải An
"""
_VIETNAMESE_FORENAMES_FEMALE = """
    Linh Ngọc Trang Thảo Hương Lan Mai Hoa Hà Nhung Phương Anh Thu Huyền Hạnh Hằng Hồng
    Chi Vân Duyên Dương Yến Vi Ánh Xuân Nga Nhi Quỳnh Trâm Uyên Tuyết Loan Liên Hiền Dung
    Giang Diệp My Ngân Oanh Thủy Thúy Trinh Tâm Tiên Kim Nguyệt Diễm Lệ Khánh
"""
_VIETNAMESE_SURNAME_PERCENT: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0),
    ("Trần", 11.0),
    ("Lê", 9.5),
    ("Phạm", 7.0),
    ("Hoàng", 5.0),
    ("Huỳnh", 5.0),
    ("Phan", 4.5),
    ("Vũ", 4.0),
    ("Võ", 4.0),
    ("Đặng", 2.0),
    ("Bùi", 2.0),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1.0),
    ("Lý", 0.5),
)
_VIETNAMESE_RARER_SURNAMES = "Mai Đào Đinh Trương Lâm Lưu Cao Tạ Hà Trịnh Lương Tô Châu Quách Thái"
_VIETNAMESE_RARER_PERCENT = 1.5

# Chinese given names are one syllable or two; the two-syllable ones are written as one
# word ('Weijie'). Syllables usual for boys and for girls (some are used for both);
# half of the draws are one syllable, half any ordered pair of two different ones.
_CHINESE_SYLLABLES_MALE = """
    Wei Jie Hao Yu Jun Ming Tao Qiang Lei Jian Yong Gang Chao Bo Peng Hui Long Xiang Zhi
    Dong Feng Bin Kai Rui Yang Cheng Tian Xin Hua Liang Guo Zhen Yi Hai Ping Kang Sheng
    Wen Jin Zhong Bao Fei Heng Xiong Hong Xiao
"""
_CHINESE_SYLLABLES_FEMALE = """
    Li Fang Jing Min Yan Na Juan Ping Xia Ying Hui Mei Lan Xiu Yu Xin Yi Ting Qian Jia
    Lin Xue Yun Qing Wen Dan Lu Yue Shu Hong Fei Zhen Jiao Xiao
"""
_CHINESE_TWO_SYLLABLE_SHARE = 0.5
# Faker's zh_CN two-syllable names that the syllables above do not build.
_CHINESE_EXTRA_FEMALE = ("Guiying",)

# (Faker locale, male forename attribute, female forename attribute, surname attribute)
_FAKER: Mapping[str, tuple[str, str, str, str]] = {
    "english": ("en_GB", "first_names_male", "first_names_female", "last_names"),
    "romanian": ("ro_RO", "first_names_male", "first_names_female", "last_names"),
    "polish": ("pl_PL", "first_names_male", "first_names_female", "male_last_names"),
    "yoruba": ("yo_NG", "first_names_male", "first_names_female", "last_names"),
}

NAME_ORIGINS: tuple[str, ...] = (
    "english",
    "romanian",
    "polish",
    "vietnamese",
    "chinese",
    "yoruba",
    *_CURATED,
)


@dataclass(frozen=True)
class NamePool:
    """The names one origin draws from, and how likely each one is.

    A weights tuple runs parallel to its names; an empty one means every name is equally
    likely. ``patronymic`` is the share of people whose surname is their father's given
    name, drawn from ``forenames_male`` with its weights; the others draw ``surnames``.
    """

    origin: str
    forenames_male: tuple[str, ...]
    forenames_female: tuple[str, ...]
    surnames: tuple[str, ...]
    # Origins that write the family name first (so agencies swap the order more often).
    family_name_first: bool = False
    patronymic: float = 0.0
    forenames_male_weights: tuple[float, ...] = ()
    forenames_female_weights: tuple[float, ...] = ()
    surname_weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        problems = [
            f"{label}: {len(weights)} weights for {len(names)} names"
            for label, names, weights in (
                ("forenames_male", self.forenames_male, self.forenames_male_weights),
                ("forenames_female", self.forenames_female, self.forenames_female_weights),
                ("surnames", self.surnames, self.surname_weights),
            )
            if weights and len(weights) != len(names)
        ]
        problems += [
            f"{label} is empty"
            for label, names in (
                ("forenames_male", self.forenames_male),
                ("forenames_female", self.forenames_female),
                ("surnames", self.surnames),
            )
            if not names
        ]
        if any(weight <= 0 for weight in self._all_weights()):
            problems.append("every weight must be positive")
        if not 0.0 <= self.patronymic <= 1.0:
            problems.append(f"patronymic must be between 0 and 1, not {self.patronymic}")
        if problems:
            raise SynthError(f"name pool {self.origin!r}: " + "; ".join(problems))

    def _all_weights(self) -> tuple[float, ...]:
        return (*self.forenames_male_weights, *self.forenames_female_weights, *self.surname_weights)

    def forenames(self, sex: str) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """(names, weights) of the forenames for sex 'M' or 'F'."""
        if sex == "M":
            return self.forenames_male, self.forenames_male_weights
        if sex == "F":
            return self.forenames_female, self.forenames_female_weights
        raise SynthError(f"sex must be 'M' or 'F', not {sex!r}")


def _words(text: str) -> tuple[str, ...]:
    """The names written in ``text``, one word each, in order."""
    return tuple(text.split())


def _rank_weights(count: int) -> tuple[float, ...]:
    """Weights 1/(rank + 5) for names listed commonest first (rank 0 is the first).

    Real forenames are skewed (Mohammed is far commoner than the sixtieth name), but a
    list written from general knowledge does not know exact frequencies; this gentle
    Zipf-like curve gives the first name about 13 times the weight of the sixtieth.
    """
    return tuple(1.0 / (rank + 5) for rank in range(count))


def _faker_names(locale: str, attribute: str) -> tuple[str, ...]:
    provider = import_module(f"faker.providers.person.{locale}").Provider
    values: Iterable[str] = getattr(provider, attribute)
    # Some locales weight names in an OrderedDict; the keys are the names.
    names = tuple(dict.fromkeys(str(value) for value in values if str(value).isprintable()))
    # Compound Faker entries ('Anne-Marie', 'de la Cruz') stay; empty ones are dropped.
    return tuple(name for name in names if name.strip())


def _chinese_given_names(
    syllables: tuple[str, ...], extra: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """One-syllable names and every ordered pair of two different syllables, with weights.

    The single syllables share ``1 - _CHINESE_TWO_SYLLABLE_SHARE`` of the draws equally,
    the pairs (and ``extra`` two-syllable names) the rest.
    """
    pairs = dict.fromkeys(
        f"{first}{second.lower()}" for first in syllables for second in syllables if first != second
    )
    pairs.update(dict.fromkeys(extra))
    two = tuple(name for name in pairs if name not in syllables)
    one_share = (1.0 - _CHINESE_TWO_SYLLABLE_SHARE) / len(syllables)
    two_share = _CHINESE_TWO_SYLLABLE_SHARE / len(two)
    return (*syllables, *two), (*(one_share,) * len(syllables), *(two_share,) * len(two))


def _vietnamese_pool() -> NamePool:
    male = _words(_VIETNAMESE_FORENAMES_MALE)
    female = _words(_VIETNAMESE_FORENAMES_FEMALE)
    rarer = _words(_VIETNAMESE_RARER_SURNAMES)
    return NamePool(
        origin="vietnamese",
        forenames_male=male,
        forenames_female=female,
        surnames=(*(name for name, _ in _VIETNAMESE_SURNAME_PERCENT), *rarer),
        family_name_first=True,
        forenames_male_weights=_rank_weights(len(male)),
        forenames_female_weights=_rank_weights(len(female)),
        surname_weights=(
            *(percent for _, percent in _VIETNAMESE_SURNAME_PERCENT),
            *(_VIETNAMESE_RARER_PERCENT / len(rarer),) * len(rarer),
        ),
    )


def _chinese_pool() -> NamePool:
    male, male_weights = _chinese_given_names(_words(_CHINESE_SYLLABLES_MALE))
    female, female_weights = _chinese_given_names(
        _words(_CHINESE_SYLLABLES_FEMALE), _CHINESE_EXTRA_FEMALE
    )
    return NamePool(
        origin="chinese",
        forenames_male=male,
        forenames_female=female,
        surnames=_faker_names("zh_CN", "last_romanized_names"),
        family_name_first=True,
        forenames_male_weights=male_weights,
        forenames_female_weights=female_weights,
    )


def build_name_pools() -> dict[str, NamePool]:
    """Every origin's name pool, in ``NAME_ORIGINS`` order; deterministic (no randomness)."""
    pools: dict[str, NamePool] = {}
    for origin, (locale, male, female, surname) in _FAKER.items():
        pools[origin] = NamePool(
            origin=origin,
            forenames_male=_faker_names(locale, male),
            forenames_female=_faker_names(locale, female),
            surnames=_faker_names(locale, surname),
        )
    pools["vietnamese"] = _vietnamese_pool()
    pools["chinese"] = _chinese_pool()
    for origin, curated in _CURATED.items():
        boys, girls = _words(curated.forenames_male), _words(curated.forenames_female)
        pools[origin] = NamePool(
            origin=origin,
            forenames_male=boys,
            forenames_female=girls,
            surnames=_words(curated.surnames),
            patronymic=curated.patronymic,
            forenames_male_weights=_rank_weights(len(boys)),
            forenames_female_weights=_rank_weights(len(girls)),
        )
    return {origin: pools[origin] for origin in NAME_ORIGINS}


def draw_names(
    rng: np.random.Generator, names: tuple[str, ...], weights: tuple[float, ...], size: int
) -> np.ndarray:
    """``size`` names drawn from ``names`` with probabilities proportional to ``weights``.

    Without weights every name is equally likely, drawn exactly as the generator always
    has (one integer per draw), so uniform pools give the same names as before.
    """
    values = np.array(names, dtype=object)
    if not weights:
        uniform: np.ndarray = values[rng.integers(0, len(names), size=size)]
        return uniform
    probabilities = np.array(weights, dtype=float)
    chosen: np.ndarray = values[
        rng.choice(len(names), size=size, p=probabilities / probabilities.sum())
    ]
    return chosen


def name_probabilities(names: tuple[str, ...], weights: tuple[float, ...]) -> dict[str, float]:
    """Each distinct name's probability under ``weights`` (empty: all names equally likely)."""
    shares = [1.0] * len(names) if not weights else list(weights)
    total = sum(shares)
    probabilities: dict[str, float] = {}
    for name, share in zip(names, shares, strict=True):
        probabilities[name] = probabilities.get(name, 0.0) + share / total
    return probabilities


def surname_probabilities(pool: NamePool) -> dict[str, float]:
    """Each surname's probability: family names and, for ``patronymic``, fathers' names."""
    family = name_probabilities(pool.surnames, pool.surname_weights)
    fathers = name_probabilities(pool.forenames_male, pool.forenames_male_weights)
    probabilities = {name: (1.0 - pool.patronymic) * share for name, share in family.items()}
    for name, share in fathers.items():
        probabilities[name] = probabilities.get(name, 0.0) + pool.patronymic * share
    return {name: share for name, share in probabilities.items() if share > 0.0}


def name_collision_rates(
    pools: Mapping[str, NamePool] | None = None,
) -> dict[str, dict[str, float]]:
    """Per origin and sex ('M', 'F'): the chance two children share forename and surname.

    Computed exactly from the pools' weights (no sampling): forename and surname are drawn
    independently, so the chance is (sum of squared forename probabilities) x (sum of
    squared surname probabilities). Siblings, who share a surname by construction, and
    recording errors are left out: this is the namesake rate of unrelated children.
    """
    chosen = build_name_pools() if pools is None else pools
    rates: dict[str, dict[str, float]] = {}
    for origin, pool in chosen.items():
        surname_sum = sum(share * share for share in surname_probabilities(pool).values())
        rates[origin] = {
            sex: surname_sum
            * sum(share * share for share in name_probabilities(*pool.forenames(sex)).values())
            for sex in ("M", "F")
        }
    return rates


def ethiopic_abbreviation(surname: str) -> str | None:
    """The G/ and W/ short forms Eritrean and Ethiopian records use, or None.

    'Gebremedhin' is often written 'G/Medhin', 'Weldemariam' 'W/Mariam'.
    """
    for prefix, short in (("Ghebre", "G/"), ("Gebre", "G/"), ("Wolde", "W/"), ("Welde", "W/")):
        if surname.startswith(prefix) and len(surname) > len(prefix) + 1:
            rest = surname[len(prefix) :].strip()
            return f"{short}{rest[0].upper()}{rest[1:]}"
    return None


def family_name_first(forename: str, surname: str) -> tuple[str, str]:
    """The two name fields as an agency writes them when it takes the order the other way."""
    return surname, forename
